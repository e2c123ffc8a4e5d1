"""The pipeline end to end: posts -> experiments -> results -> Markdown -> site."""

from __future__ import annotations

import json

import pytest

from generator.errors import InputError

BODY = """
# Squares

The total is {{ sq.total:.2f }} after {{ param sq.n }} steps; `{{ sq.total }}` stays code.

{{ figure pic.curve "A curve" }}

```python
print("{{ not.a.reference }}")
```
"""


def test_build_embeds_results_and_rebuild_runs_nothing(journal):
    journal.post("week-1", """
        sq:
          run: toy.square
          params: {n: 4, scale: 2.0}
        pic:
          run: toy.plot
    """, BODY)
    summary = journal.build()
    assert (summary.ran, summary.cached) == (2, 0)
    assert sorted(journal.calls()) == ["plot", "square"]

    html = journal.html("week-1")
    assert "The total is 28.00 after 4 steps" in html  # 2 * (0 + 1 + 4 + 9)
    assert "{{ sq.total }}" in html                       # inline code untouched
    assert "{{ not.a.reference }}" in html                # fenced code untouched
    for variant in ("light", "dark"):
        assert f"curve.{variant}.png#only-{variant}" in html
        pngs = list((journal.root / "site").rglob(f"*curve.{variant}.png"))
        assert pngs and pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = journal.build()
    assert (again.ran, again.cached) == (0, 2)
    assert sorted(journal.calls()) == ["plot", "square"]  # no new calls


def test_prose_and_blog_keys_never_rerun(journal):
    post = journal.post("week-1", "sq: {run: toy.square}", "Total {{ sq.total }}.\n")
    journal.build()
    text = post.read_text().replace("Total", "The total").replace("date: 2024-07-04",
                                                                   "date: 2024-07-05\ntags: [x]")
    post.write_text(text)
    assert journal.build().ran == 0
    assert "The total 30" in journal.html("week-1")


def test_same_experiment_in_two_posts_runs_once(journal):
    journal.post("week-1", "a: {run: toy.square, params: {n: 3}}", "{{ a.total }}\n")
    week_2 = journal.post("week-2", "b: {run: toy.square, params: {n: 3}}", "{{ b.total }}\n",
                          date="2024-07-11")
    summary = journal.build()
    assert summary.ran == 1 and journal.calls() == ["square"]
    # both posts remember the result, so either one's change is explained
    week_2.write_text(week_2.read_text().replace("n: 3", "n: 4"))
    assert "params.n: 3 → 4" in journal.cli("status", "--explain").stdout


def test_quick_results_never_replace_full_ones(journal):
    journal.post("week-1", """
        sq:
          run: toy.square
          params: {n: 6}
          quick: {n: 2}
    """, "Total {{ sq.total }}.\n")
    journal.build()
    full = json.loads(next((journal.root / "results").rglob("metrics.json")).read_text())
    assert full["total"] == 55

    # a fresh full result is always used: --quick previews only what would run
    assert journal.build(quick=True).ran == 0
    html = journal.html("week-1")
    assert "Quick preview" not in html and "Total 55." in html

    post = journal.root / "posts" / "week-1.md"
    post.write_text(post.read_text().replace("n: 6", "n: 7"))
    assert journal.build(quick=True).ran == 1
    html = journal.html("week-1")
    assert "Quick preview" in html and "Total 1." in html
    assert json.loads(next((journal.root / "results").rglob("metrics.json")).read_text()) == full
    assert len(list((journal.root / "results").rglob("metrics.json"))) == 1

    journal.build()
    html = journal.html("week-1")
    assert "Quick preview" not in html and "Total 91." in html


def test_frozen_fails_on_stale_and_passes_when_fresh(journal):
    post = journal.post("week-1", "sq: {run: toy.square, params: {n: 3}}", "{{ sq.total }}\n")
    r = journal.cli("build", "--frozen")
    assert r.returncode == 1 and "sq (toy.square): missing: never run" in r.stderr
    journal.build()
    assert journal.cli("build", "--frozen").returncode == 0
    post.write_text(post.read_text().replace("n: 3", "n: 4"))
    r = journal.cli("build", "--frozen")
    assert r.returncode == 1
    assert "params.n: 3 → 4" in r.stderr
    assert journal.calls() == ["square"]  # --frozen never ran anything


def test_bad_front_matter_names_file_line_and_key(journal):
    journal.write("posts/week-1.md", """
        ---
        title: Week 1
        date: 2024-07-04
        experiments:
          sq:
            run: toy.square
            params: {n: ten, colour: red}
        ---
        Body.
    """)
    journal.write("posts/week-2.md", """
        ---
        date: 2024-07-11
        experiments:
          other:
            run: toy.nothing
            timeout: soon
        ---
        {{ ghost.total }}
    """)
    r = journal.cli("build")
    assert r.returncode == 2, r.stderr
    err = r.stderr
    assert "posts/week-1.md:7: experiments.sq.params.n: expected an integer, got 'ten'" in err
    assert "posts/week-1.md:7: experiments.sq.params.colour: 'toy.square' has no parameter 'colour'" in err
    assert "posts/week-2.md:5: experiments.other.run: 'toy.nothing': no function 'nothing'" in err
    assert "posts/week-2.md:6: experiments.other.timeout: expected a duration" in err
    assert "Traceback" not in err
    assert journal.calls() == []


def test_unknown_reference_is_reported_before_running(journal):
    journal.post("week-1", "sq: {run: toy.square}", "\n\nSee {{ sqq.total }}.\n")
    with pytest.raises(InputError) as e:
        journal.build()
    assert "posts/week-1.md:9:" in str(e.value) and "did you mean 'sq'" in str(e.value)
    assert journal.calls() == []


def test_unknown_metric_suggests_a_name(journal):
    journal.post("week-1", "sq: {run: toy.square}", "{{ sq.totl }}\n")
    with pytest.raises(InputError, match=r"reported no metric 'totl' \(did you mean 'total'\?\)"):
        journal.build()


def test_results_are_escaped(journal):
    journal.post("week-1", "pic: {run: toy.plot}", "Label {{ pic.label }}.\n\n{{ text pic.words }}\n")
    journal.build()
    html = journal.html("week-1")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_hand_written_pages_are_never_touched(journal):
    before = {p: p.read_bytes() for p in (journal.root / "docs").rglob("*") if p.is_file()}
    journal.post("week-1", "sq: {run: toy.square}", "{{ sq.total }}\n")
    journal.build()
    for path, content in before.items():
        assert path.read_bytes() == content


def test_show_lists_the_names_a_post_can_use(journal):
    journal.post("week-1", "pic: {run: toy.plot, params: {points: 3}}", "{{ pic.points }}\n")
    assert "no result yet" in journal.cli("show", "pic").stdout
    journal.build()
    r = journal.cli("show", "week-1/pic")
    assert r.returncode == 0
    for line in ("metric    week-1/pic.points = 3", "figure    week-1/pic.curve",
                 "text      week-1/pic.words"):
        assert line in r.stdout
    assert journal.cli("show", "nope").returncode == 2


def test_show_gives_every_seed_and_a_pinned_posts_results(journal):
    journal.write("experiments/noisy.py", """
        def draw(run, *, n: int = 3):
            return {"value": run.seed % 7, "n": n}
    """)
    journal.post("week-1", "x: {run: noisy.draw, seed: 1, seeds: 3}", "{{ x.value }}\n",
                 extra="freeze: true\n")
    journal.build()
    r = journal.cli("show", "x")
    assert "3 seeds: 1, 2, 3" in r.stdout
    assert "metric    week-1/x.value = 2.0 ± 1.0  (mean ± sd over 3 seeds)" in r.stdout
    journal.write("experiments/noisy.py", (journal.root / "experiments/noisy.py").read_text() + "\nX = 1\n")
    r = journal.cli("show", "x")   # the code moved on; the pinned post's results stand
    assert "no result yet" not in r.stdout and "over 3 seeds" in r.stdout


def test_status_filters_by_post_and_aligns_long_names(journal):
    journal.post("week-1", "sq: {run: toy.square}", "{{ sq.total }}\n")
    journal.post("week-2", "a_rather_long_experiment_name: {run: toy.square, params: {n: 3}}\n"
                 "b: {run: toy.square, params: {n: 4}}",
                 "{{ a_rather_long_experiment_name.total }} {{ b.total }}\n")
    journal.build(site=False)
    every = journal.cli("status")
    assert every.returncode == 0 and "3 fresh" in every.stdout
    one = journal.cli("status", "posts/week-2.md")
    rows = [line for line in one.stdout.splitlines() if line.startswith("fresh")]
    assert len(rows) == 2 and all("week-2.md" in row for row in rows)
    assert len({row.index("toy.square") for row in rows}) == 1      # the function column lines up
    assert journal.cli("status", "week-1").stdout.count("posts/week-1.md:sq") == 1   # a slug names it too
    unknown = journal.cli("status", "week-9")
    assert unknown.returncode == 2 and "no post 'week-9'" in unknown.stderr and "posts/week-1.md" in unknown.stderr

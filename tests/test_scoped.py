"""Scoped work: build or run only some posts; --quick only where something would run."""

from __future__ import annotations

import re

SHARED = "FACTOR = 2\n\n\ndef scaled(x):\n    return FACTOR * x\n"
READER = """
from experiments.shared import scaled


def uses(run, *, x: int = 3, steps: int = 100):
    return {"y": scaled(x), "steps": steps}
"""


def _numbers(html: str) -> list[str]:
    """The page's article text with its numbers: what a reader sees."""
    body = html[html.index("<article"):html.index("</article>")]
    return re.findall(r"Got [^<]*", body)


def _three_weeks(journal):
    journal.write("experiments/shared.py", SHARED)
    journal.write("experiments/reader.py", READER)
    for week, x in (("week-1", 1), ("week-2", 2), ("week-3", 3)):
        journal.post(week, f"mlp: {{run: reader.uses, params: {{x: {x}}}, quick: {{steps: 5}}}}",
                     "# Numbers\n\nGot {{ mlp.y }} after {{ mlp.steps }} steps.\n",
                     date=f"2024-07-0{x}")
    assert journal.build().ran == 3


def test_a_quick_build_of_one_post_leaves_every_other_page_as_it_was(journal):
    _three_weeks(journal)
    journal.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 10"))
    summary = journal.build(quick=True, posts=("week-3",))
    assert summary.ran == 1
    assert "Got 30 after 5 steps" in journal.html("week-3")    # the quick preview of week 3
    assert "Quick preview" in journal.html("week-3")
    for week in ("week-1", "week-2"):
        page = journal.html(week)
        # stale and outside the build: a warning box, never a quick number or an old one
        assert "No result for experiment mlp" in page
        assert not re.search(r"Got \d", "".join(_numbers(page)))
        assert "Quick preview" not in page


def test_quick_never_replaces_a_fresh_full_result(journal):
    _three_weeks(journal)
    full = {w: journal.html(w) for w in ("week-1", "week-2", "week-3")}
    journal.write("posts/week-3.md", journal.root.joinpath("posts/week-3.md").read_text()
                  .replace("x: 3", "x: 4"))
    summary = journal.build(quick=True)
    assert summary.ran == 1  # only week 3 was stale; it ran quick
    assert "Got 8 after 5 steps" in journal.html("week-3")
    for week in ("week-1", "week-2"):
        assert _numbers(journal.html(week)) == _numbers(full[week])
        assert "Quick preview" not in journal.html(week)


def test_build_post_runs_only_that_posts_stale_experiments(journal):
    _three_weeks(journal)
    journal.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 10"))
    r = journal.cli("build", "posts/week-2.md")
    assert r.returncode == 0, r.stderr
    assert "Got 20 after 100 steps" in journal.html("week-2")
    assert "posts/week-1.md:mlp" in r.stderr and "posts/week-3.md:mlp" in r.stderr  # listed
    assert "No result for experiment mlp" in journal.html("week-1")
    r = journal.cli("run", "week-1")
    assert r.returncode == 0 and "1 ran" in r.stderr
    states = [line.split()[:2] for line in journal.cli("status").stdout.splitlines()[:-1]]
    assert states == [["fresh", "posts/week-1.md:mlp"], ["fresh", "posts/week-2.md:mlp"],
                      ["stale", "posts/week-3.md:mlp"]]


def test_an_ambiguous_experiment_name_lists_the_qualified_names(journal):
    _three_weeks(journal)
    r = journal.cli("run", "mlp")
    assert r.returncode == 2
    assert "week-1/mlp" in r.stderr and "week-2/mlp" in r.stderr and "week-3/mlp" in r.stderr
    assert "Traceback" not in r.stderr
    r = journal.cli("run", "week-2/mlp")
    assert r.returncode == 0 and "1 ran" in r.stderr
    r = journal.cli("build", "--rerun", "mlp")
    assert r.returncode == 2 and "week-1/mlp" in r.stderr

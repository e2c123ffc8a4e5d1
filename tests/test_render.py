"""Results in prose: the reference vocabulary, its checks, and what it renders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.errors import InputError
from generator.numbers import fmt_number
from generator.render.refs import scan

GOLDEN = Path(__file__).parent / "golden" / "every-reference.md"

EVERY = r"""
# Every reference

A metric {{ sq.total }}, formatted {{ sq.total:.1f }}, as a percentage {{ sq.n:.0% }}.
A parameter {{ param sq.scale }} and a list parameter {{ param sq.n }}.
From another post: {{ week-0/base.total }}. Literal braces: \{{ not a ref }}.

{{ figure pic.curve "The curve, light and dark" }}

{{ table sq week-0/base : total n:.2f "Both squares" }}

{{ chart sq.value baseline=week-0/base.total logy "Values against a baseline" }}

{{ text pic.words }}

Inline `{{ code }}`, math $\{x\}_{i}$ and $$\frac{a}{b}$$ pass through.

```python
template = "{{ untouched }}"
```

{{ provenance }}
"""


def _normalise(text: str) -> str:
    text = re.sub(r"chart-[0-9a-f]{16}", "chart-DIGEST", text)  # follows the drawing code too
    # keys follow the generator's own worker code (the run handle, figure saving) too
    text = re.sub(r"assets/(\w+)-[0-9a-f]{8}-", r"assets/\1-KEY-", text)
    text = re.sub(r"\| \d{4}-\d\d-\d\d \| [\d.]+ (ms|s|min[^|]*) \|", "| DATE | TOOK |", text)
    text = re.sub(r'\| [\d.]+ (ms|s|min[^|]*) \| (\w+), (<span class="journal-nowrap">)?\d{4}-\d\d-\d\d(</span>)? \|',
                  r"| TOOK | \2, \3DATE\4 |", text)
    text = re.sub(r"\| `[0-9a-f]{12}` \| DATE \|", "| `KEY` | DATE |", text)
    return re.sub(r"\| `[0-9a-f]{12}(\+dirty)?` \| (cache|this build) \|", "| `COMMIT` | SOURCE |", text)


def _normalise_record(text: str) -> str:
    """The full record's entries: key, date and duration vary from run to run."""
    text = re.sub(r"key `[0-9a-f]{12}`", "key `KEY`", text)
    return re.sub(r"run \d{4}-\d\d-\d\d on (\w+), took [\d.]+ (ms|s|min[^,]*),", r"run DATE on \1, took TOOK,", text)


def _every(journal):
    journal.post("week-0", "base: {run: toy.square, params: {n: 3}}", "# Base\n\n{{ base.total }}\n",
                 date="2024-06-27")
    journal.post("week-1", """
        sq: {run: toy.square, params: {n: 4, scale: 0.5}}
        pic: {run: toy.plot}
    """, EVERY)


def test_golden_markdown_for_every_reference_kind(journal):
    _every(journal)
    journal.build()
    got = _normalise_record(_normalise((journal.root / "docs/blog/posts/week-1.md").read_text()))
    got = re.sub(r"\| `none` \|", "| `COMMIT` |", got)
    got = re.sub(r"\| `COMMIT` \| (cache|this build) \|", "| `COMMIT` | SOURCE |", got)
    if not GOLDEN.exists():  # writes the golden file for review, and fails
        GOLDEN.write_text(got)
        pytest.fail(f"wrote {GOLDEN}; review it and run again")
    assert got == GOLDEN.read_text()


def test_every_figure_has_a_light_and_a_dark_variant_in_the_site(journal):
    _every(journal)
    journal.build()
    site = journal.root / "site"
    srcs = set()
    for page in site.rglob("*.html"):
        srcs |= set(re.findall(r'<img[^>]+src="([^"]+\.png)#only-(?:light|dark)"', page.read_text()))
    assert len(srcs) >= 4  # figure + chart, both variants (and the progress chart)
    pngs = {p.name for p in site.rglob("*.png")}
    for src in srcs:
        name = src.rsplit("/", 1)[-1]
        light, dark = name.replace(".dark.", ".light."), name.replace(".light.", ".dark.")
        assert light in pngs and dark in pngs, name


def test_changing_a_chart_redraws_without_running(journal):
    _every(journal)
    journal.build()
    calls = len(journal.calls())
    post = journal.root / "posts/week-1.md"
    post.write_text(post.read_text().replace(" logy ", " "))
    summary = journal.build()
    assert summary.ran == 0 and len(journal.calls()) == calls
    assert "Values against a baseline" in journal.html("week-1")


def _two_weeks_of_squares(journal, first: str, second: str) -> str:
    """Weeks 1 and 2 square 3 and 4 numbers, with these headlines; the built Progress page."""
    journal.post("week-1", "sq: {run: toy.square, params: {n: 3}}", "{{ sq.total }}\n",
                 extra=f"headline: {first}\n")
    journal.post("week-2", "sq: {run: toy.square, params: {n: 4}}", "{{ sq.total }}\n",
                 date="2024-07-11", extra=f"headline: {second}\n")
    journal.build()
    return (journal.root / "site/progress/index.html").read_text()


def test_progress_page_charts_headline_metrics(journal):
    progress = _two_weeks_of_squares(journal, "[sq.total]", "[sq.total, sq.n]")
    assert "progress-" in progress and ".dark.png#only-dark" in progress
    # a panel per tracked quantity: total in both weeks, n in week 2 only
    assert re.findall(r"<h2[^>]*>([^<]+)", progress) == ["total", "n"]
    total = progress.split("<h2", 2)[1]
    assert re.search(r"week-1.*?<td>sq</td>\s*<td[^>]*><strong>5</strong>", total, re.S)
    assert re.search(r"week-2.*?<td>sq</td>\s*<td[^>]*><strong>14</strong>", total, re.S)
    home = (journal.root / "site/index.html").read_text()
    assert "sq: total <strong>14</strong>, n <strong>4</strong>" in home   # one experiment's together
    assert "sq: total <strong>5</strong>" in home


def test_headlines_declared_once_name_and_direct_every_panel(journal):
    journal.write("pyproject.toml", """
        [tool.journal.headlines]
        total = { label = "sum of squares, fewer is better", better = "lower" }
        n = { better = "neither" }
    """)
    progress = _two_weeks_of_squares(journal, "[sq.total, sq.n]", "[sq.total, sq.n]")
    assert re.findall(r"<h2[^>]*>([^<]+)", progress) == [
        "sum of squares, fewer is better (lower is better)", "n"]
    total, n = progress.split("<h2")[1:3]
    # lower is better: week 1's 5 stays the best, week 2's 14 is not marked
    assert re.search(r"<strong>5</strong> ★ best so far", total)
    assert re.search(r"<strong>14</strong>\s*</td>", total)
    assert "best so far" not in n   # neither way is better: nothing is marked
    home = (journal.root / "site/index.html").read_text()
    assert "sq: total <strong>14</strong>" in home   # the home page keeps the posts' own labels


@pytest.mark.parametrize("table, key, expected", [
    ('total = { better = "down" }', "tool.journal.headlines.total.better", "expected one of lower, higher"),
    ('total = { label = "" }', "tool.journal.headlines.total.label", "expected words"),
    ('total = { colour = "red" }', "tool.journal.headlines.total", "label and better only"),
    ('total = "lower"', "tool.journal.headlines.total", "expected { label"),
])
def test_a_wrong_headline_declaration_is_an_error_before_anything_runs(journal, table, key, expected):
    journal.write("pyproject.toml", f"[tool.journal.headlines]\n{table}\n")
    journal.post("week-1", "sq: {run: toy.square}", "{{ sq.total }}\n", extra="headline: [sq.total]\n")
    r = journal.cli("build")
    assert r.returncode == 2, r.stderr
    assert f"pyproject.toml:2: {key}" in r.stderr and expected in r.stderr
    assert journal.calls() == []   # nothing ran


def test_a_metric_that_goes_down_marks_the_best_so_far():
    from generator.render.progress_page import direction as _direction

    assert [_direction(n) for n in ("dev_nll", "train_loss", "accuracy", "total")] == \
        ["lower", "lower", "higher", ""]


@pytest.mark.parametrize("body, message", [
    ("{{ sq.totl }}", "reported no metric 'totl' (did you mean 'total'?)"),
    ("{{ figure sq.curv }}", "saved no figure 'curv'"),
    ("{{ figure pic.curv }}", "saved no figure 'curv' (did you mean 'curve'?)"),
    ("{{ chart sq.valu }}", "logged no series 'valu' (did you mean 'value'?)"),
    ("{{ text pic.word }}", "saved no text artifact 'word' (did you mean 'words'?)"),
    ("{{ table sq : total nn }}", "reported no metric 'nn' (did you mean 'n'?)"),
    ("{{ chart sq.value baseline=sq.nope }}", "baseline: toy.square reported no metric 'nope'"),
])
def test_unknown_result_names_are_errors_with_file_and_line(journal, body, message):
    journal.post("week-1", "sq: {run: toy.square}\npic: {run: toy.plot}", f"\n{body}\n")
    with pytest.raises(InputError) as e:
        journal.build()
    assert "posts/week-1.md:9:" in str(e.value)
    assert message in str(e.value)


@pytest.mark.parametrize("body, message", [
    ("{{ }}", "empty reference"),
    ("{{ sq }}", "cannot read '{{ sq }}'"),
    ("{{ sq.total:zz }}", "'zz' is not a number format"),
    ("{{ param sq.nope }}", "toy.square has no parameter 'nope'"),
    ("{{ figure }}", "expected {{ figure moons.boundary"),
    ("{{ table sq total }}", "expected {{ table exp1 exp2 : metric1"),
    ("{{ chart sq.value colour=red }}", "unknown option 'colour'"),
    ("{{ week-9/sq.total }}", "no post has the slug 'week-9'"),
    ("{{ sq.__class__ }}", "cannot read"),
    ("{{ sq.total.__globals__ }}", "reported no metric"),
])
def test_reference_syntax_errors(journal, body, message):
    journal.post("week-1", "sq: {run: toy.square}", body + "\n")
    with pytest.raises(InputError) as e:
        journal.build()
    assert message in str(e.value)
    assert "posts/week-1.md:7:" in str(e.value)


def test_scan_skips_code_and_math():
    body = "a {{ x.y }}\n```\n{{ no }}\n```\n`{{ no }}` $${{ no }}$$\n$$\n{{ no }}\n$$\n~~~~\n{{ no }}\n~~~~\n"
    lines, errors = scan(body, 1)
    found = [r.source for refs in lines for r in (refs or [])]
    assert found == ["x.y"] and not errors


@pytest.mark.parametrize("value, spec, text", [
    (2.45678, None, "2.457"), (0.123456, None, "0.123"), (11897, None, "11,897"),
    (12345.6, None, "12,346"), (0.00012, None, "1.20e-04"), (0.5, ".1%", "50.0%"),
    (float("nan"), None, "NaN"), ("nan", None, "NaN"), (True, None, "True"), ("<b>", None, "<b>"),
    (float("inf"), ".3f", "∞"), (float("-inf"), ".1%", "−∞"), ("inf", None, "∞"),
])
def test_number_formatting(value, spec, text):
    assert fmt_number(value, spec) == text


def test_every_reference_kind_parses_its_example_and_is_documented():
    from generator.render.kinds import KINDS
    from generator.render.refs import parse

    docs = (Path(__file__).parent.parent / "docs" / "reference.md").read_text()
    for word, kind in KINDS.items():
        ref = parse(kind.example[2:-2].strip(), 1)
        assert ref.kind == word
        assert f"`{kind.example}`" in docs, f"docs/reference.md does not show {kind.example}"


def test_the_share_card_image_is_the_first_figure_or_the_one_named(journal):
    body = '# One\n\nIntro.\n\n{{ chart sq.value }}\n\n{{ figure pic.curve "A curve" }}\n'
    journal.post("week-1", "sq: {run: toy.square}\npic: {run: toy.plot}", body)
    journal.build()
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert re.search(r"^share_image: blog/assets/chart-[0-9a-f]{16}\.light\.png$", page, re.M)
    assert "\n<!-- more -->\n" in page.split("Intro.", 1)[1][:20]   # the excerpt: the first paragraph

    journal.post("week-1", "sq: {run: toy.square}\npic: {run: toy.plot}", body,
                 extra="image: pic.curve\n")
    journal.build()
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert re.search(r"^share_image: blog/assets/pic-[0-9a-f]{8}-curve\.light\.png$", page, re.M)
    assert "\nimage:" not in page

    journal.post("week-1", "sq: {run: toy.square}\npic: {run: toy.plot}", body,
                 extra="image: pic.curvy\n")
    r = journal.cli("build")
    assert r.returncode == 2, r.stderr
    assert "posts/week-1.md:4: image:" in r.stderr and "did you mean 'curve'" in r.stderr


def _chart_inputs(journal) -> list[dict]:
    """What each chart of week-1 shows (its drawing inputs, kept beside its images)."""
    import json

    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    digests = re.findall(r"assets/chart-([0-9a-f]{16})\.light\.png", page)
    return [json.loads((journal.root / ".journal/charts" / f"{d}.json").read_text())
            for d in dict.fromkeys(digests)]


def test_charts_speak_in_labels_and_take_options(journal):
    body = ('# One\n\n{{ chart sq.value big.value }}\n\n'
            '{{ chart sq.value smooth=3 xlim=1: ylim=:20 linear ylabel="sum so far" "Caption" }}\n')
    journal.post("week-1", 'sq: {run: toy.square, label: "four squares"}\nbig: {run: toy.square, '
                 'params: {n: 40}}', body, extra="labels: {value: running value}\n")
    journal.build()
    both, one = _chart_inputs(journal)
    assert both["labels"] == ["four squares", "big"]           # the experiments' label:, else the name
    assert both["ylabel"] == "running value"                    # every chart has a y label
    assert both["logy"] is False                                # from 0: not all positive
    assert one["ylabel"] == "sum so far" and one["smooth"] == 3
    assert one["xlim"] == [1.0, None] and one["ylim"] == [None, 20.0]
    assert "<figcaption>Caption</figcaption>" in (journal.root / "docs/blog/posts/week-1.md").read_text()


@pytest.mark.parametrize("option, message", [
    ("smooth=0", "expected smooth=N"),
    ("xlim=3:1", "LOW < HIGH"),
    ("ylim=a:b", "expected ylim=LOW:HIGH"),
    ("colour=red", "unknown option 'colour'"),
    ("logy linear", "contradict"),
])
def test_bad_chart_options_are_named(option, message):
    from generator.render.refs import RefSyntaxError, parse

    with pytest.raises(RefSyntaxError, match=message):
        parse(f"chart sq.value {option}", 3)


def test_steps_read_as_50k_and_logy_when_values_span_decades():
    from generator.render.charts import smoothed, spans_decades, steps_formatter

    fmt = steps_formatter()
    assert [fmt(v) for v in (0, 500, 50_000, 125_000, 1_500_000)] == ["0", "500", "50k", "125k", "1.5M"]
    assert spans_decades([("a", [[0, 27.0], [1, 2.0]])])
    assert not spans_decades([("a", [[0, 3.0], [1, 2.0]])])
    assert not spans_decades([("a", [[0, 0.0], [1, 20.0]])])
    assert smoothed([[0, 1], [1, 3], [2, 5]], 2) == [[0, 2.0], [1, 3.0], [2, 4.0]]   # centred, 2 steps


def test_smoothing_draws_no_value_that_the_run_never_had():
    """Week 1's chart: a training loss logged every 100 steps beside a dev loss logged every
    4,000, from 27.6 at step 0 to 2.9 at step 4,000. Averaged over 20 *points*, the dev line
    stayed near 6 for 24k steps; averaged over a window of steps it is drawn as logged."""
    from generator.render.charts import drawn_lines

    train = [[s, 2.2 + 20 * 0.97 ** (s / 100) + (0.2 if s // 100 % 2 else -0.2)] for s in range(99, 200_000, 100)]
    dev = [[0, 27.6]] + [[s, 2.9 - s / 1_000_000] for s in range(4000, 200_001, 4000)]
    drawn_train, drawn_dev = drawn_lines([("training loss", train), ("dev loss", dev)], 20)
    # the sparse series has one point per 2,000-step window: it is drawn once, as logged
    assert drawn_dev == [("dev loss", [p[0] for p in dev], [p[1] for p in dev], False)]
    faint, mean = drawn_train
    assert faint[0] is None and faint[3] and mean[0] == "training loss" and not mean[3]
    for step, value in zip(mean[1], mean[2]):   # within the raw values of its own window
        near = [v for s, v in train if abs(s - step) <= 1000]
        assert min(near) - 1e-9 <= value <= max(near) + 1e-9, (step, value)
    # and the smoothing is real: the ±0.2 zigzag is averaged out
    middle = [v for s, v in zip(mean[1], mean[2]) if 100_000 < s < 110_000]
    assert max(middle) - min(middle) < 0.05


def test_a_smoothed_chart_with_a_sparse_series_is_drawn_from_its_logged_values(tmp_path):
    """The chart itself, drawn with matplotlib: the lines on its axes hold the values above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from generator.render import charts

    dev = [[0, 27.6]] + [[s, 2.9] for s in range(4000, 40_001, 4000)]
    train = [[s, 3.0 + (0.5 if s // 100 % 2 else -0.5)] for s in range(99, 40_000, 100)]
    drawn = []
    plot = plt.Axes.plot

    def record(ax, xs, ys, **kw):
        drawn.append((kw.get("label"), list(xs), list(ys)))
        return plot(ax, xs, ys, **kw)

    plt.Axes.plot = record
    try:
        charts.draw_chart({"lines": [("train", train), ("dev", dev)], "smooth": 20, "linear": True},
                          tmp_path, "c")
    finally:
        plt.Axes.plot = plot
    dev_line = next(d for d in drawn if d[0] == "dev")
    assert dev_line[2] == [p[1] for p in dev]          # 2.9 from step 4,000 on, never 5.7
    assert (tmp_path / "c.light.png").is_file() and (tmp_path / "c.dark.png").is_file()

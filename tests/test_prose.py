"""Prose that cannot go stale: seeds with their spread, checked claims, the hand-typed number lint."""

from __future__ import annotations

import html
import json
import math
import re

import pytest

from generator.errors import InputError

NOISY = '''
import os
import random


def noisy(run, *, base: float = 2.0, spread: float = 0.1):
    """A loss that depends on the seed, as a training run's does."""
    counter = os.environ.get("JOURNAL_TEST_COUNTER")
    if counter:
        with open(counter, "a") as f:
            f.write("noisy\\n")
    rng = random.Random(run.seed)
    values = [base + spread * rng.uniform(-1, 1) for _ in range(4)]
    for i, v in enumerate(values):
        run.log(i, loss=v)
    return {"nll": values[-1], "seed": run.seed, "base": base}
'''


@pytest.fixture
def journal(journal):
    journal.write("experiments/seeded.py", NOISY)
    return journal


def _seed_metrics(journal, function: str) -> dict[int, dict]:
    out = {}
    for path in (journal.root / "results" / function).glob("*/metrics.json"):
        metrics = json.loads(path.read_text())
        out[metrics["seed"]] = metrics
    return out


def test_seeds_run_one_result_each_and_render_mean_and_sd(journal):
    journal.post("week-1", """
        one: {run: seeded.noisy, seed: 1}
        many: {run: seeded.noisy, seeds: 3}
    """, "Loss {{ many.nll }}, three decimals {{ many.nll:.3f }}, n={{ many.nll:n }}, "
         "sd {{ many.nll:sd:.4f }}, min {{ many.nll:min:.3f }}, max {{ many.nll:max }}, "
         "base {{ many.base }}.\n\n"
         "{{ table one many : nll:.3f }}\n")
    journal.build()
    # seed 1 is shared with `one`: three distinct results, three calls, not four
    assert journal.calls().count("noisy") == 3
    stored = _seed_metrics(journal, "seeded.noisy")
    assert sorted(stored) == [0, 1, 2]
    values = [stored[s]["nll"] for s in (0, 1, 2)]
    mean = sum(values) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert f"{mean:.3f} ± {sd:.3f}" in page
    assert "n=3," in page
    assert f"sd {sd:.4f}" in page
    assert f"min {min(values):.3f}" in page
    assert 'title="mean ± sd over 3 seeds' in page
    assert f"| one | {stored[1]['nll']:.3f} |" in page
    assert "many · seed 2 (3 of 3)" in html.unescape(page)   # the provenance box lists every seed
    assert "base 2." in page                         # a value the same in every seed reads plain
    # a second build runs nothing
    journal.build()
    assert journal.calls().count("noisy") == 3


def test_a_seeds_key_is_the_key_of_that_seed_alone(journal):
    journal.post("week-1", "a: {run: seeded.noisy, seed: 5}\n", "{{ a.nll }}\n")
    journal.build()
    journal.post("week-1", "a: {run: seeded.noisy, seeds: [5, 6]}\n", "{{ a.nll }}\n")
    journal.build()
    assert journal.calls().count("noisy") == 2  # seed 5 came from the store


@pytest.mark.parametrize("spec, message", [
    ("seeds: 0", "expected a number of seeds"),
    ("seeds: [1, 1]", "a seed is listed twice"),
    ("seeds: [1, 2]\n    seed: 3", "a list of seeds and `seed:` together"),
    ("seeds: [a]", "expected a number of seeds"),
])
def test_bad_seeds_are_refused_before_running(journal, spec, message):
    journal.post("week-1", f"a:\n    run: seeded.noisy\n    {spec}\n", "{{ a.nll }}\n")
    with pytest.raises(InputError) as e:
        journal.build()
    assert "posts/week-1.md:" in str(e.value) and message in str(e.value)
    assert journal.calls() == []


def test_sd_of_one_seed_is_refused_before_running(journal):
    journal.post("week-1", "a: {run: seeded.noisy}\n", "Spread {{ a.nll:sd }}.\n")
    with pytest.raises(InputError) as e:
        journal.build()
    assert re.search(r"posts/week-1.md:\d+: .*'a' has one seed", str(e.value))
    assert journal.calls() == []


def test_a_chart_of_seeds_draws_the_mean_and_a_band(journal):
    from generator.render.kinds.chart import mean_and_band

    mean, band = mean_and_band([[[0, 1.0], [1, 2.0], [2, 9.0]], [[0, 3.0], [1, 4.0]]])
    assert mean == [[0, 2.0], [1, 3.0]]          # only the steps every seed logged
    assert band[0] == pytest.approx([0, 2.0 - math.sqrt(2), 2.0 + math.sqrt(2)])
    journal.post("week-1", "many: {run: seeded.noisy, seeds: 2}\n",
                 '{{ chart many.loss "Loss over two seeds" }}\n')
    journal.build()
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert "Loss over two seeds" in page
    charts = [p for p in (journal.root / "docs/blog/posts/assets").glob("chart-*.light.png")
              if ".narrow." not in p.name]   # the column's chart (its phone-width twin lies beside it)
    assert len(charts) == 1 and charts[0].stat().st_size > 1000


CLAIMS = """
# Claims

The bigger scale gives the bigger total {{ check big.total > small.total }}, and the small
one stays under a bound {{ check small.total <= 30 }}. The two are close
{{ check big.total ~ small.total tol=100% }}.
"""


def test_claims_that_hold_render_a_mark_with_both_values(journal):
    journal.post("week-1", """
        small: {run: toy.square, params: {n: 4}}
        big: {run: toy.square, params: {n: 4, scale: 2.0}}
    """, CLAIMS)
    journal.build()
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert page.count('class="journal-check"') == 3
    assert "big.total > small.total (big.total = 28, small.total = 14)" in html.unescape(page)
    assert "{{" not in page.split("---", 2)[2]


def test_a_false_claim_fails_naming_the_line_and_both_values(journal):
    journal.post("week-1", """
        small: {run: toy.square, params: {n: 4}}
        big: {run: toy.square, params: {n: 4, scale: 2.0}}
    """, "# Claims\n\nSmaller, I said {{ check big.total < small.total }}.\n")
    r = journal.cli("build", "--jobs", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "posts/week-1.md:10:" in out
    assert "{{ check big.total < small.total }} does not hold: big.total = 28, small.total = 14" in out
    assert "Traceback" not in out
    assert not (journal.root / "docs/blog/posts/week-1.md").exists()  # nothing written


def test_a_claim_that_a_parameter_change_makes_false_fails_the_next_build(journal):
    body = "# Claims\n\nUnder forty {{ check sq.total < 40 }}.\n"
    journal.post("week-1", "sq: {run: toy.square, params: {n: 4}}\n", body)
    journal.build()
    journal.post("week-1", "sq: {run: toy.square, params: {n: 6}}\n", body)   # total 55
    with pytest.raises(Exception) as e:
        journal.build()
    assert type(e.value).__name__ == "ClaimFailed" and e.value.exit_code == 1
    assert "sq.total = 55, 40 = 40" in str(e.value) or "sq.total = 55" in str(e.value)


def test_keep_going_boxes_a_false_claim_after_its_paragraph(journal):
    journal.post("week-1", "sq: {run: toy.square, params: {n: 4}}\n",
                 "# Claims\n\nUnder ten {{ check sq.total < 10 }},\nstill the same paragraph.\n\nNext.\n")
    with pytest.raises(Exception) as e:
        journal.build(keep_going=True)
    assert type(e.value).__name__ == "ClaimFailed" and "The site was built" in str(e.value)
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    box = page.index('!!! warning "This claim does not hold"')
    assert page.index("still the same paragraph.") < box < page.index("Next.")   # after its paragraph
    assert "sq" in page[box:].split("\n")[1]
    assert "journal-check-failed" in journal.html("week-1")


@pytest.mark.parametrize("claim, holds", [
    ("a.nll ~ b.nll", True),            # seeds: a tie unless clearly apart
    ("a.nll < b.nll", False),           # not clearly smaller: the seeds overlap
    ("a.nll <= b.nll", True),
    ("a.nll < c.nll", True),            # c is far above
    ("c.nll > 2.5", True),
    ("a.nll ~ 2.0 ± 0.2", True),
])
def test_claims_over_seeds_weigh_the_spread(journal, claim, holds):
    journal.post("week-1", """
        a: {run: seeded.noisy, seeds: 3}
        b: {run: seeded.noisy, seeds: [10, 11, 12]}
        c: {run: seeded.noisy, seeds: 3, params: {base: 3.0}}
    """, f"# Claims\n\n{{{{ check {claim} }}}}\n")
    if holds:
        journal.build()
    else:
        with pytest.raises(Exception) as e:
            journal.build()
        assert "(n=3)" in str(e.value) and " ± " in str(e.value)


def test_holds_uses_welchs_t_test_at_95_percent():
    from generator.render.kinds.check import holds
    from generator.render.stats import Spread

    a, b = Spread((1.0, 1.2, 1.4)), Spread((1.5, 1.7, 1.9))   # sd 0.2 each: t = -3.06 on 4 df
    assert holds("<", a, b)                                    # one-sided p = 0.019
    assert not holds("<", a, Spread((1.2, 1.4, 1.6)))          # t = -1.22: p = 0.14
    assert holds("~", a, Spread((1.2, 1.4, 1.6)))
    assert not holds("~", Spread((1.0,)), Spread((1.1,)), tol=0.05)
    assert holds("~", Spread((1.0,)), Spread((1.1,)), tol=0.1000001)
    # more than two standard errors apart, which the old rule called clear, but with three
    # seeds against a single result Welch's test has 2 degrees of freedom: t = -2.2, p = 0.08
    seeds, single = Spread((2.0, 2.1, 2.2)), Spread((2.1 + 2.2 * 0.1 / math.sqrt(3),))
    assert seeds.mean - single.mean < -2 * seeds.se
    assert not holds("<", seeds, single)
    assert holds("<=", seeds, single)                          # not clearly greater, either


def test_the_t_distribution_matches_its_tables():
    """Student's t quantiles from the printed tables (one-sided 95 %, two-sided 95 %)."""
    from generator.render.stats import Spread, t_cdf, t_quantile, welch

    for df, q95, q975 in ((1, 6.313752, 12.706205), (2, 2.919986, 4.302653), (4, 2.131847, 2.776445),
                          (10, 1.812461, 2.228139), (30, 1.697261, 2.042272)):
        assert t_quantile(0.95, df) == pytest.approx(q95, abs=1e-5)
        assert t_quantile(0.975, df) == pytest.approx(q975, abs=1e-5)
        assert t_cdf(-q95, df) == pytest.approx(0.05, abs=1e-7)
    # Welch-Satterthwaite: equal spreads and sizes give n_a + n_b - 2 degrees of freedom
    test = welch(Spread((1.0, 1.2, 1.4)), Spread((1.5, 1.7, 1.9)))
    assert test.df == pytest.approx(4.0) and test.t == pytest.approx(-0.5 / math.sqrt(2 * 0.04 / 3))
    # one side without a spread: the other's n - 1
    assert welch(Spread((1.0, 1.2, 1.4)), Spread((3.0,))).df == pytest.approx(2.0)
    assert welch(Spread((1.0,)), Spread((3.0,))) is None   # nothing to test: compared as they are


SCORED = '''
import random


def scored(run, *, shift: float = 0.0, wobble: float = 0.3, seed_noise: float = 0.001, n: int = 500,
           consistent: bool = True):
    """A loss kept word by word on one fixed split of n words: every word's own difficulty,
    a model's own per-word errors (``wobble``, mean zero over the split), a little seed noise."""
    words = [f"w{i}" for i in range(n)]
    hard = random.Random(1)
    base = [2.0 + hard.uniform(-0.5, 0.5) for _ in words]
    own = [wobble * (1 if i % 2 else -1) for i in range(n)]   # this model's quirks, mean 0
    jitter = random.Random(run.seed).gauss(0, seed_noise)     # what another seed changes
    values = [b + o + shift + jitter for b, o in zip(base, own)]
    run.examples("nll", values, split=words)
    mean = sum(values) / n
    return {"nll": mean if consistent else mean + 0.5}
'''


def test_a_claim_over_examples_also_needs_the_paired_test(journal):
    """Week 3's WaveNet against the 4-gram: the seeds barely move the test loss, so a test over
    seeds alone calls a 0.02 gap clear; but per word the two models differ by ±0.3, and over
    500 words that gap is within the noise of the split (paired t-test: t = -1.5, p = 0.07)."""
    journal.write("experiments/words.py", SCORED)
    journal.post("week-1", """
        wave: {run: words.scored, seeds: 3}
        gram: {run: words.scored, params: {shift: 0.02, wobble: 0.0}}
        far: {run: words.scored, params: {shift: 0.2, wobble: 0.0}}
    """, "# Claims\n\nBelow it {{ check wave.nll < gram.nll }}.\n")
    r = journal.cli("build", "--jobs", "2")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "{{ check wave.nll < gram.nll }} does not hold" in out
    assert "Welch t-test over seeds" in out and "paired t-test over 500 examples" in out
    assert re.search(r"paired t-test over 500 examples: t = -1\.\d+, one-sided p = 0\.0[6-9]", out), out
    # a gap ten times larger is clear over the words too
    journal.post("week-1", """
        wave: {run: words.scored, seeds: 3}
        far: {run: words.scored, params: {shift: 0.2, wobble: 0.0}}
    """, "# Claims\n\nBelow it {{ check wave.nll < far.nll }}.\n")
    r = journal.cli("build", "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert "paired t-test over 500 examples" in page and "Welch t-test over seeds" in page


def test_examples_that_do_not_add_up_to_their_metric_are_refused(journal):
    journal.write("experiments/words.py", SCORED)
    journal.post("week-1", """
        a: {run: words.scored, params: {consistent: false}}
        b: {run: words.scored, params: {shift: 1.0, wobble: 0.0}}
    """, "# Claims\n\nBelow {{ check a.nll < b.nll }}.\n")
    r = journal.cli("build", "--jobs", "2")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "posts/week-1.md:10:" in r.stderr and "average to 2, not to the metric 2.5" in r.stderr


def test_a_small_gap_to_a_single_seeded_run_is_flagged(journal):
    """One run of a seeded experiment against three seeds of another (1.940 ± 0.020): 1.89 is
    clear against the seeds' mean, but within what one run of that spread could give. The
    same value from an experiment without a seed (a count model) is taken as it is."""
    journal.post("week-1", """
        one: {run: seeded.noisy, seed: 5, params: {base: 1.89, spread: 0.0}}
        many: {run: seeded.noisy, seeds: 3}
        count: {run: seeded.noisy, params: {base: 1.89, spread: 0.0}}
    """, "# Claims\n\nOne run is lower {{ check one.nll < many.nll }}, and so is the count model "
         "{{ check count.nll < many.nll }}.\n")
    r = journal.cli("build", "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    stored = _seed_metrics(journal, "seeded.noisy")
    assert [round(stored[s]["nll"], 3) for s in (0, 1, 2)] and stored[5]["nll"] == 1.89
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:") and "claim" in line]
    assert len(warnings) == 1, (r.stderr, stored)
    assert "posts/week-1.md:11: the claim {{ check one.nll < many.nll }} holds, but one.nll is a single run" \
        in warnings[0]
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert page.count("**Not weighed against noise:**") == 1   # the count model (no seed) is not flagged


def test_each_mark_links_to_a_list_that_says_what_was_checked(journal):
    """The ✓ explains itself to every reader, not only on hover: it links to its entry in the
    post's list of checked claims, with both values and the test in words."""
    journal.post("week-1", """
        small: {run: toy.square, params: {n: 4}}
        big: {run: toy.square, params: {n: 4, scale: 2.0}}
    """, CLAIMS)
    journal.build()
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    marks = re.findall(r'<sup class="journal-check"><a href="#claim-(\d)" title="[^"]+" aria-label="checked claim', page)
    assert marks == ["1", "2", "3"]
    box = page[page.index('??? success "✓ Checked claims"'):]
    assert "Each ✓ in this post marks one of these 3 claims" in box
    for n in "123":
        assert f'{n}. <span id="claim-{n}"></span>✓' in box
    assert "big.total > small.total: big.total = 28, small.total = 14. Compared as they are" in html.unescape(box)
    site = journal.html("week-1")
    assert 'id="claim-1"' in site and 'href="#claim-1"' in site


@pytest.mark.parametrize("claim, message", [
    ("a.x = b.y", "expected a claim"),
    ("1 < 2", "compares two numbers"),
    ("sq.total < 3 tol=0.1", "a tolerance goes with ~"),
    ("sq.total ~ 3", "a tie between single results needs a tolerance"),
    ("nope.total < 3", "no experiment 'nope'"),
])
def test_bad_claims_are_refused_before_running(journal, claim, message):
    journal.post("week-1", "sq: {run: toy.square}\n", f"{{{{ check {claim} }}}}\n")
    with pytest.raises(InputError) as e:
        journal.build()
    assert "posts/week-1.md:7:" in str(e.value) and message in str(e.value)
    assert journal.calls() == []


def test_a_per_seed_table_lists_every_seed_then_mean_and_sd(journal):
    journal.post("week-1", "a: {run: seeded.noisy, seeds: [3, 4]}\n",
                 "{{ seeds a : nll:.4f seed }}\n")
    journal.build()
    stored = _seed_metrics(journal, "seeded.noisy")
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    mean = (stored[3]["nll"] + stored[4]["nll"]) / 2
    assert f"| 3 | {stored[3]['nll']:.4f} | 3 |" in page
    assert f"| 4 | {stored[4]['nll']:.4f} | 4 |" in page
    assert f"| **mean** | {mean:.4f} | 3.5 |" in page
    assert f"| **sd** | {abs(stored[3]['nll'] - stored[4]['nll']) / math.sqrt(2):.4f} |" in page


LINTED = """
# Hand-typed

Trained for 100 steps, or {{ sq.steps }} with a reference, at a rate of
{{ param sq.lr }}. Code `100` and math $100$ are never read, nor a 100-step run.

{{ figure pic.curve "A curve after 100 steps" }}
"""


def test_the_lint_flags_a_typed_number_that_a_parameter_or_metric_holds(journal):
    journal.post("week-1", """
        sq: {run: toy.steps, params: {steps: 100}}
        pic: {run: toy.plot}
    """, LINTED)
    r = journal.cli("build", "--jobs", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, r.stderr
    assert "posts/week-1.md:11: '100' is typed by hand, but {{ param sq.steps }} holds it" in warnings[0]
    assert "posts/week-1.md:14: '100' is typed by hand" in warnings[1]      # the caption
    strict = journal.cli("build", "--jobs", "1", "--strict-prose")
    assert strict.returncode == 2
    assert "posts/week-1.md:11: '100' is typed by hand" in strict.stderr
    frozen = journal.cli("build", "--frozen")
    assert frozen.returncode == 2 and "posts/week-1.md:14:" in frozen.stderr


def test_the_lint_reads_metrics_to_the_typed_precision_and_skips_one_digit_numbers(journal):
    from generator.render.check import check
    from generator.render.lint import lint

    journal.post("week-1", "a: {run: seeded.noisy, seeds: 2}\n", "PLACEHOLDER\n")
    journal.build()
    stored = _seed_metrics(journal, "seeded.noisy")
    mean = (stored[0]["nll"] + stored[1]["nll"]) / 2
    body = f"Mean {mean:.2f}, again {mean:.3f}; one digit: 5 and 0.1; a seed 0.\n"
    journal.post("week-1", "a: {run: seeded.noisy, seeds: 2}\n", body)
    from generator.context import Journal

    j = Journal.open(journal.root)
    posts, plan = j.read()
    results = {r.key: j.store.load(r) for r in plan.runs}
    found = lint(posts, plan, check(posts, plan), results)
    assert [p.message.split("'")[1] for p in found] == [f"{mean:.2f}", f"{mean:.3f}"]
    assert all("{{ a.nll }}" in p.message for p in found)


def test_captions_may_hold_references(journal):
    journal.post("week-1", """
        sq: {run: toy.steps, params: {steps: 120}}
        pic: {run: toy.plot}
    """, '{{ figure pic.curve "The curve after {{ param sq.steps }} steps ({{ pic.points }} points)" }}\n\n'
         '{{ table sq : steps "Steps: {{ sq.steps }}" }}\n')
    journal.build()
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert "<figcaption>The curve after 120 steps (4 points)</figcaption>" in page
    assert "_Steps: 120_" in page
    journal.post("week-1", "pic: {run: toy.plot}\n", '{{ figure pic.curve "After {{ param pic.nope }}" }}\n')
    with pytest.raises(InputError) as e:
        journal.build()
    assert "posts/week-1.md:7:" in str(e.value) and "has no parameter 'nope'" in str(e.value)

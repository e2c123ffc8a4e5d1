"""``{{ check fourgram_interp.test_nll < mlp.test_nll }}``: a claim, checked on every build.

    {{ check a.x < b.y }}            also >, <=, >=; either side may be a number
    {{ check a.x ~ b.y tol=0.01 }}   a tie: |a - b| <= tol (also ``± 0.01``, ``tol=1%``; ≈ for ~)
    {{ check week-1/mlp.dev_nll > deep_bn.dev_nll }}

With seeds a side is its mean, and the noise counts: ``<`` holds when a one-sided t-test
says the difference is below zero at 95 % confidence: Welch's test over seeds, and, where
both results report the metric example by example on the same split (``run.examples``),
a paired test over those examples too. ``<=`` holds unless ``a`` is clearly greater; ``~``
when |a - b| <= tol plus the 95 % margin of each test. Without a spread on either side the
comparison is exact, and a claim about a single run by a small gap is flagged (a warning):
its seed noise is unknown. A claim that holds renders a ✓ linked to the post's list of
checked claims, which says in words what was compared and how; one that does not fails the
build (exit 1), naming the post, line, claim, values and test.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from generator.numbers import fmt_number
from generator.render.kinds.base import Kind, Need, no_metric
from generator.render.stats import CONFIDENCE, Spread, Test, fmt_spread, numeric, paired, welch
from generator.render.syntax import EXP, RefSyntaxError

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_SIDE = rf"(?:{EXP}\.[A-Za-z0-9][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*|{_NUM})"
_CLAIM = re.compile(rf"^check\s+(?P<lhs>{_SIDE})\s*(?P<op><=|>=|<|>|~|≈)\s*(?P<rhs>{_SIDE})"
                    rf"(?:\s+(?:tol\s*=\s*|±\s*|\+-\s*)(?P<tol>{_NUM})(?P<pct>%)?)?\s*$")
OPS = {"<": "<", ">": ">", "<=": "≤", ">=": "≥", "~": "≈", "≈": "≈"}


SMALL_GAP = 0.01   # a gap under 1 % between runs without a known spread is flagged


@dataclass(frozen=True)
class Side:
    label: str
    spread: Spread
    number: bool = False      # a plain number in the claim, not a result
    seeded: bool = False      # its post gives it a seed: one run of it is one draw of something random

    def text(self) -> str:
        if self.spread.n == 1:
            return f"{self.label} = {fmt_number(self.spread.mean)}"
        return f"{self.label} = {fmt_spread(self.spread)} (n={self.spread.n})"


@dataclass(frozen=True)
class Verdict:
    holds: bool
    how: str          # how it was decided, in words
    flag: str = ""    # why the noise could not be weighed, when it matters


def _p(op: str, test: Test) -> float:
    """The one-sided p-value a claim's operator turns on."""
    return test.p_below() if op in ("<", ">=") else test.p_above()


def decide(op: str, a: Side, b: Side, tol: float = 0.0, examples: Test | None = None) -> Verdict:
    """Whether ``a op b``: every test there is (over seeds, over examples) must call a strict
    difference clear at ``CONFIDENCE``; a tie holds within ``tol`` plus each test's margin."""
    d = a.spread.mean - b.spread.mean
    tests = [t for t in (welch(a.spread, b.spread), examples) if t is not None]
    alpha = 1 - CONFIDENCE
    if op == "~":
        holds = all(abs(d) <= tol + t.margin() for t in tests) if tests else abs(d) <= tol
    elif op in ("<", ">"):
        holds = (d < 0 if op == "<" else d > 0) and all(_p(op, t) < alpha for t in tests)
    else:   # "<=": not clearly greater; ">=": not clearly smaller
        holds = not ((d > 0 if op == "<=" else d < 0) and all(_p(op, t) < alpha for t in tests))
    how = "; ".join(_said(op, t, tol) for t in tests) or \
        "compared as they are: neither side has a spread over seeds or examples"
    flag = _flag(op, a, b, d, tests) if holds and op in ("<", ">") else ""
    return Verdict(holds, how, flag)


def _said(op: str, t: Test, tol: float) -> str:
    over = f"paired t-test over {t.df + 1:.0f} examples" if t.what == "examples" else \
        f"Welch t-test over seeds, {t.df:.1f} degrees of freedom"
    if op == "~":
        return (f"{over}: difference {fmt_number(t.d)}, {CONFIDENCE:.0%} margin ± {fmt_number(t.margin())}"
                + (f" (+ tolerance {fmt_number(tol)})" if tol else ""))
    return f"{over}: t = {t.t:.2f}, one-sided p = {_p(op, t):.3g} (clear below {1 - CONFIDENCE:.2g})"


def _flag(op: str, a: Side, b: Side, d: float, tests: list[Test]) -> str:
    """Why a strict claim that holds may still be noise: a side that is one run of an
    experiment, whose seed-to-seed spread nothing measured."""
    if any(t.what == "examples" for t in tests):
        return ""
    single = [s for s in (a, b) if s.spread.n == 1 and s.seeded]
    if not single:
        return ""
    other = b if single[0] is a else a
    if other.spread.n > 1:   # would the gap be clear if the single run were as noisy as the seeds?
        sd, n = other.spread.sd, other.spread.n
        test = Test("seeds", d, sd * math.sqrt(1 + 1 / n), n - 1)
        if sd > 0 and _p(op, test) >= 1 - CONFIDENCE:
            return (f"{single[0].label} is a single run: with {other.label}'s spread over seeds "
                    f"(sd {fmt_number(sd)}) one run could land this close by chance; give it seeds")
        return ""
    scale = max(abs(a.spread.mean), abs(b.spread.mean))
    if scale and abs(d) < SMALL_GAP * scale:
        return (f"a gap of {abs(d) / scale:.2%} involving a single run ({single[0].label}), "
                "whose spread over seeds is unknown: give it seeds, or report per-example values "
                "(run.examples) for a paired test")
    return ""


def holds(op: str, a: Spread, b: Spread, tol: float = 0.0) -> bool:
    """Whether ``a op b`` with the tests over seeds alone (see :func:`decide`)."""
    return decide(op, Side("a", a), Side("b", b), tol).holds


class Check(Kind):
    word = "check"
    example = "{{ check fourgram_interp.test_nll < mlp.test_nll }}"

    def parse(self, source, args, caption, line):
        m = _CLAIM.match(source)
        if m is None:
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': expected a claim such as {self.example}, "
                                       "{{ check a.x ~ b.y tol=0.01 }} or {{ check a.x >= 2.0 }} "
                                       "(operators: < > <= >= ~ ≈)")
        op = "~" if m["op"] == "≈" else m["op"]
        if m["tol"] is not None and op != "~":
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': a tolerance goes with ~ (a tie), not {op}")
        exps, names, sides = [], [], []
        for side in (m["lhs"], m["rhs"]):
            if re.fullmatch(_NUM, side):
                sides.append(float(side))
            else:
                exp, _, name = side.partition(".")
                sides.append(len(exps))
                exps.append(exp)
                names.append(name)
        if not exps:
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}' compares two numbers: name a metric")
        tol = None if m["tol"] is None else (float(m["tol"]), bool(m["pct"]))
        return {"exps": tuple(exps), "names": tuple(names),
                "options": {"op": op, "sides": tuple(sides), "tol": tol}}

    def needs(self, ref):
        return [Need(e, n, "metric") for e, n in zip(ref.exps, ref.names)]

    def validate(self, ref, runs):
        if ref.options["op"] == "~" and ref.options["tol"] is None \
                and not any(len(runs[e].seeds) > 1 for e in ref.exps):
            return ["a tie between single results needs a tolerance: add tol=0.01 (or ± 0.01), "
                    "or give an experiment `seeds: 3` so its spread decides"]
        return []

    def render(self, ref, page):
        sides, found = [], []
        for side in ref.options["sides"]:
            if isinstance(side, float):
                sides.append(Side(fmt_number(side), Spread((side,)), number=True))
                found.append(None)
                continue
            exp, name = ref.exps[side], ref.names[side]
            run, results = page.seeds(ref, exp)
            if results is None:
                return page.missing(exp, False)
            values = [numeric(res.metrics.get(name)) for res in results]
            if any(name not in res.metrics for res in results):
                return page.bad(ref, no_metric(run.function, name, results[0].metrics, listed=False))
            if None in values:
                return page.bad(ref, f"'{exp}.{name}' is not a number, so it cannot be compared")
            sides.append(Side(f"{exp}.{name}", Spread(tuple(values)), seeded=page.seeded(exp)))
            found.append((name, results))
        a, b = sides
        op, tol = ref.options["op"], ref.options["tol"]
        tolerance = 0.0 if tol is None else tol[0] * (max(abs(a.spread.mean), abs(b.spread.mean)) / 100
                                                      if tol[1] else 1)
        examples, problem = paired_examples(*found)
        if problem:
            return page.bad(ref, problem)
        verdict = decide(op, a, b, tolerance, examples)
        values = f"{a.text()}, {b.text()}"
        claim = f"{a.label} {OPS[op]} {b.label}"
        if verdict.holds:
            return page.claim_held(ref, claim, values, verdict.how, verdict.flag)
        return page.claim_failed(ref, f"{values}; {verdict.how}")


def paired_examples(a, b) -> tuple[Test | None, str]:
    """The paired test over examples of two sides' ``(metric, results)``, when every result
    of both reports that metric example by example (``run.examples``) on one split: each
    side's values averaged over its seeds. Also a problem to report, if the values a result
    kept do not add up to its metric."""
    if a is None or b is None:
        return None, ""
    kept = []
    for name, results in (a, b):
        for res in results:
            ex = res.examples.get(name)
            if ex is None:
                return None, ""
            total = math.fsum(ex["weights"])
            mean = math.fsum(ex["values"]) / total if total else math.nan
            metric = float(res.metrics[name])
            if not math.isclose(mean, metric, rel_tol=1e-6, abs_tol=1e-12):
                return None, (f"{res.meta.get('function')} kept per-example values of '{name}' that "
                              f"average to {fmt_number(mean)}, not to the metric {fmt_number(metric)}")
        kept.append([res.examples[name] for res in results])
    first = kept[0][0]
    if any(ex["split"] != first["split"] or ex["weights"] != first["weights"] for side in kept for ex in side):
        return None, ""   # not the same examples: nothing to pair
    means = [[math.fsum(col) / len(side) for col in zip(*(ex["values"] for ex in side))] for side in kept]
    return paired(means[0], means[1], first["weights"]), ""

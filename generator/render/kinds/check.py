"""``{{ check fourgram_interp.test_nll < mlp.test_nll }}``: a claim, checked on every build.

    {{ check a.x < b.y }}            also >, <=, >=; either side may be a number
    {{ check a.x ~ b.y tol=0.01 }}   a tie: |a - b| <= tol (also ``± 0.01``, ``tol=1%``; ≈ for ~)
    {{ check week-1/mlp.dev_nll > deep_bn.dev_nll }}

With seeds a side is its mean, and the noise counts: ``<`` holds when the difference
exceeds two standard errors of the difference, sqrt(sd_a²/n_a + sd_b²/n_b); ``<=`` when
``a`` is not clearly greater; ``~`` when |a - b| <= tol + 2 SE (a tie needs no ``tol`` when
a side has seeds). A claim that holds renders a small ✓ whose title gives both values;
one that does not fails the build (exit 1), naming the post, line, claim and values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from generator import escape
from generator.numbers import fmt_number
from generator.render.kinds.base import Kind, Need, no_metric
from generator.render.stats import Spread, fmt_spread, numeric
from generator.render.syntax import EXP, RefSyntaxError

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_SIDE = rf"(?:{EXP}\.[A-Za-z0-9][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*|{_NUM})"
_CLAIM = re.compile(rf"^check\s+(?P<lhs>{_SIDE})\s*(?P<op><=|>=|<|>|~|≈)\s*(?P<rhs>{_SIDE})"
                    rf"(?:\s+(?:tol\s*=\s*|±\s*|\+-\s*)(?P<tol>{_NUM})(?P<pct>%)?)?\s*$")
OPS = {"<": "<", ">": ">", "<=": "≤", ">=": "≥", "~": "≈", "≈": "≈"}


@dataclass(frozen=True)
class Side:
    label: str
    spread: Spread

    def text(self) -> str:
        if self.spread.n == 1:
            return f"{self.label} = {fmt_number(self.spread.mean)}"
        return f"{self.label} = {fmt_spread(self.spread)} (n={self.spread.n})"


def holds(op: str, a: Spread, b: Spread, tol: float = 0.0) -> bool:
    """Whether ``a op b``, with two standard errors of the difference as the bar for noise."""
    d = a.mean - b.mean
    margin = 2 * math.sqrt(a.se ** 2 + b.se ** 2)
    if op == "<":
        return d < -margin
    if op == ">":
        return d > margin
    if op == "<=":
        return d <= margin
    if op == ">=":
        return -d <= margin
    return abs(d) <= tol + margin


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
        sides = []
        for side in ref.options["sides"]:
            if isinstance(side, float):
                sides.append(Side(fmt_number(side), Spread((side,))))
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
            sides.append(Side(f"{exp}.{name}", Spread(tuple(values))))
        a, b = sides
        op, tol = ref.options["op"], ref.options["tol"]
        tolerance = 0.0 if tol is None else tol[0] * (max(abs(a.spread.mean), abs(b.spread.mean)) / 100
                                                      if tol[1] else 1)
        values = f"{a.text()}, {b.text()}"
        if holds(op, a.spread, b.spread, tolerance):
            title = f"checked when this page was built: {a.label} {OPS[op]} {b.label} ({values})"
            return f'<sup class="journal-check" title="{escape.inline(title)}">✓</sup>'
        return page.claim_failed(ref, values)

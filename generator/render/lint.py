"""Hand-typed numbers: a number in prose or a caption that a parameter or metric holds.

Every build warns (``posts/<file>.md:<line>``) for each such number and names the
reference to write instead; ``--strict-prose`` and ``--frozen`` make it an error. What
counts as "equal", so that a coincidence rarely fires:

- only a number with at least two significant digits is read (``100``, ``0.15``,
  ``2.17``, not ``5``, ``0.1`` or ``0.01``: those are too common to be a claim);
- a parameter (after defaults) matches a typed number of the same value (``100 steps``,
  ``200,000``);
- a metric (the mean, with seeds) matches a typed decimal when rounded to as many
  decimals as typed (``2.17`` for 2.1724), a whole number when the metric is that whole
  number (``32,033 names``), and a percentage when the metric times 100 rounds to it
  (``97.5%`` for 0.975).

Numbers inside references, code, math, link targets and HTML tags, and numbers glued to
a word (``4-gram``, ``week-1``, ``x2``) are never read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from generator.errors import Problem
from generator.plan.model import Plan, Run
from generator.render.kinds.metric import seed_values
from generator.render.stats import Spread, numeric
from generator.render.syntax import REF, Ref, mask
from generator.source.posts import Post

_NUMBER = re.compile(r"(?<![\w.,\-/^*@#&])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(%)?(?![\w\-/^*]|[.,]\d)")
_SKIP = re.compile(r"\]\([^)]*\)|<[^>\n]*>|https?://\S+")   # link targets, HTML tags, bare URLs


@dataclass(frozen=True)
class _Known:
    value: float
    ref: str          # the reference to write instead
    whole: bool       # the value is a whole number (for metrics: counts)
    param: bool


def lint(posts: list[Post], plan: Plan, scanned: dict, results: dict) -> list[Problem]:
    problems = []
    for post in posts:
        known = _known(plan.by_post.get(post.rel, {}), plan, results)
        if not known:
            continue
        for i, (line, refs) in enumerate(zip(post.body.split("\n"), scanned[post.rel])):
            if refs is None:
                continue
            for text in _prose(line, refs):
                for m in _NUMBER.finditer(text):
                    hits = list(dict.fromkeys(k.ref for k in _matches(m, known)))
                    if hits:
                        also = f" (or {', '.join(hits[1:3])})" if len(hits) > 1 else ""
                        problems.append(Problem(post.rel, post.body_line + i, None,
                                                f"'{m.group(0)}' is typed by hand, but {hits[0]} holds it: "
                                                f"write that{also} so the words follow the results"))
    return problems


def _prose(line: str, refs: list[Ref]) -> list[str]:
    """The parts of a body line a reader reads as prose: the text around references
    (with code and math blanked out) and the captions of references."""
    masked = mask(line)
    parts, pos = [], 0
    for ref in refs:
        parts.append(masked[pos:ref.start])
        if ref.caption:
            parts.append(REF.sub(" ", ref.caption))
        pos = ref.end
    parts.append(masked[pos:])
    return [_SKIP.sub(" ", p) for p in parts]


def _known(runs: dict[str, Run], plan: Plan, results: dict) -> list[_Known]:
    out = []
    for name, run in runs.items():
        for key, value in run.params.items():
            for v in value if isinstance(value, list) else [value]:
                x = numeric(v) if not isinstance(v, str) else None
                if x is not None and math.isfinite(x):
                    out.append(_Known(x, f"{{{{ param {name}.{key} }}}}", x == int(x), True))
        first = results.get(run.key)
        for metric in (first.metrics if first else {}):
            values = seed_values(plan, results, run, metric)
            numbers = [numeric(v) for v in values or ()]
            if not numbers or None in numbers or not all(math.isfinite(x) for x in numbers):
                continue
            x = Spread(tuple(numbers)).mean
            out.append(_Known(x, f"{{{{ {name}.{metric} }}}}", x == int(x), False))
    return out


def _matches(m: re.Match, known: list[_Known]) -> list[_Known]:
    whole, decimals, percent = m.group(1).replace(",", ""), m.group(2), m.group(3)
    typed = float(f"{whole}.{decimals}" if decimals else whole)
    places = len(decimals or "")
    if len((whole + (decimals or "")).lstrip("0")) < 2:
        return []   # one significant digit (0.1, 5, 0.01): too common to be a claim
    out = []
    for k in known:
        if percent:
            hit = not k.param and round(k.value * 100, places) == typed
        elif k.param:
            hit = typed == k.value
        elif places:
            hit = round(k.value, places) == typed
        else:
            hit = k.whole and typed == k.value
        if hit:
            out.append(k)
    return out

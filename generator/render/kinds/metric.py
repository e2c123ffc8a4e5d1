"""``{{ mlp.dev_nll }}``, ``{{ mlp.dev_nll:.3f }}``, ``{{ mlp.dev_nll:sd }}``: a metric, in prose.

An experiment with ``seeds:`` renders as mean ± sd (with n and each seed's value on
hover); ``:mean``, ``:sd``, ``:min``, ``:max`` and ``:n`` pick one statistic, and a format
spec may follow (``:mean:.3f``). A format spec alone applies to both mean and sd.
"""

from __future__ import annotations

from generator import escape
from generator.numbers import fmt_number
from generator.render.kinds.base import Kind, no_metric, words
from generator.render.stats import STATS, Spread, fmt_spread, numeric
from generator.render.syntax import METRIC, RefSyntaxError, check_format


class Metric(Kind):
    word = "metric"
    example = "{{ mlp.dev_nll:.3f }}"

    def parse(self, source, args, caption, line):
        m = METRIC.match(source)
        if not m or " " in source.split(":", 1)[0]:
            raise RefSyntaxError(line, f"cannot read '{{{{ {source} }}}}': expected a metric such as "
                                       f"{self.example} or one of: {', '.join(words())}")
        fmt, stat = split_stat(m.group(3))
        check_format(fmt, line)
        return {"exps": (m.group(1),), "names": (m.group(2),), "fmt": (fmt,),
                "options": {"stat": stat} if stat else {}}

    def validate(self, ref, runs):
        run = runs[ref.exps[0]]
        if ref.options.get("stat") == "sd" and len(run.seeds) < 2:
            return [f"'{ref.exps[0]}' has one seed, so no spread: give it `seeds: 3` (or more)"]
        return []

    def render(self, ref, page):
        exp, name, spec = ref.exps[0], ref.names[0], ref.fmt[0]
        stat = ref.options.get("stat")
        run, results = page.seeds(ref, exp)
        if results is None:
            return page.missing(exp, False)
        metrics = results[0].metrics
        if any(name not in res.metrics for res in results):
            return page.bad(ref, no_metric(run.function, name, metrics))
        values = [res.metrics[name] for res in results]
        numbers = [numeric(v) for v in values]
        try:
            if len(values) == 1 and stat is None or None in numbers:
                if stat is not None or any(v != values[0] for v in values):
                    return page.bad(ref, f"'{name}' is not a number ({values[0]!r}), so it has no "
                                         "statistics across seeds")
                return escape.inline(fmt_number(values[0], spec))
            spread = Spread(tuple(numbers))
            if stat is not None:
                return escape.inline(fmt_number(spread.stat(stat), None if stat == "n" else spec))
            return spread_html(spread, spec, run.seeds)
        except ValueError as e:
            return page.bad(ref, f"format '{spec}' does not fit {values[0]!r}: {e}")


def split_stat(text: str | None) -> tuple[str | None, str | None]:
    """'mean:.3f' -> ('.3f', 'mean'); '.3f' -> ('.3f', None)."""
    if not text:
        return None, None
    text = text.strip()
    head, _, rest = text.partition(":")
    if head in STATS:
        return (rest.strip() or None), head
    return text, None


def spread_html(spread: Spread, spec: str | None, seeds: tuple[int, ...]) -> str:
    """mean ± sd, with n and each seed's value in a hover title."""
    if len(set(spread.values)) == 1:   # the same in every seed (a parameter count): no ± 0
        return escape.inline(fmt_number(spread.values[0], spec))
    each = ", ".join(f"{s}: {fmt_number(v)}" for s, v in zip(seeds, spread.values))
    title = f"mean ± sd over {spread.n} seeds ({each})"
    return (f'<span class="journal-seeds" title="{escape.inline(title)}">'
            f"{escape.inline(fmt_spread(spread, spec))}</span>")


def seed_values(plan, results, run, name: str) -> list | None:
    """The metric's value in every seed's result; None if a result or the metric is missing."""
    out = []
    for r in plan.replicas(run):
        res = results.get(r.key)
        if res is None or name not in res.metrics:
            return None
        out.append(res.metrics[name])
    return out

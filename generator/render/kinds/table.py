"""``{{ table mlp fourgram : train_nll dev_nll:.3f }}``: one row per experiment, one column per metric.

``rows=metrics`` turns it around: one row per metric, one column per experiment, for a
comparison of a few experiments over many metrics (a dozen columns would not fit the
text column; a dozen rows do)."""

from __future__ import annotations

import html
import re

from generator import escape
from generator.numbers import fmt_number
from generator.render.kinds.base import Kind, Need, no_metric
from generator.render.kinds.metric import spread_html
from generator.render.stats import Spread, numeric
from generator.render.syntax import EXP, RefSyntaxError, check_format


class Table(Kind):
    word = "table"
    example = "{{ table mlp fourgram : train_nll dev_nll:.3f }}"
    captioned = True

    def parse(self, source, args, caption, line):
        if ":" not in args:
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': expected "
                                       "{{ table exp1 exp2 : metric1 metric2:.3f }}")
        i = args.index(":")
        exps, cols = args[:i], [a for a in args[i + 1:] if "=" not in a]
        by = "experiments"
        for option in (a for a in args[i + 1:] if "=" in a):
            key, _, value = option.partition("=")
            if key != "rows" or value not in ("metrics", "experiments"):
                raise RefSyntaxError(line, f"table option '{option}': expected rows=metrics (one row per "
                                           "metric, one column per experiment) or rows=experiments")
            by = value
        if not exps or not cols:
            raise RefSyntaxError(line, "a table needs experiments before ':' and metrics after it")
        names, fmts = [], []
        for c in cols:
            n, _, f = c.partition(":")
            check_format(f or None, line)
            names.append(n)
            fmts.append(f or None)
        for e in exps:
            if not re.fullmatch(EXP, e):
                raise RefSyntaxError(line, f"'{e}' is not an experiment name")
        return {"exps": tuple(exps), "names": tuple(names), "fmt": tuple(fmts), "caption": caption,
                "options": {"rows": by}}

    def needs(self, ref):
        return [Need(e, n, "metric") for e in ref.exps for n in ref.names]

    def render(self, ref, page):
        found = {exp: page.seeds(ref, exp) for exp in ref.exps}
        # one format per metric: the author's, else the same number of decimals for every experiment
        specs = [spec or column_format([res.metrics.get(name) for _, results in found.values()
                                        for res in results or ()])
                 for name, spec in zip(ref.names, ref.fmt)]
        cells = {}   # (experiment, metric) -> its cell
        for exp in ref.exps:
            run, results = found[exp]
            for name, spec in zip(ref.names, specs):
                if results is None:
                    cells[exp, name] = "⚠ no result"
                elif any(name not in res.metrics for res in results):
                    page.bad(ref, no_metric(f"{exp} ({run.function})", name, results[0].metrics, listed=False))
                    cells[exp, name] = ""
                else:
                    cells[exp, name] = cell([res.metrics[name] for res in results], spec, run.seeds)
        if ref.options.get("rows") == "metrics":
            header = "| metric | " + " | ".join(escape.inline(page.exp_label(e)) for e in ref.exps) + " |"
            rule = "|---|" + "---:|" * len(ref.exps)
            rows = [f"| {escape.inline(page.name_label(n))} | " + " | ".join(cells[e, n] for e in ref.exps) + " |"
                    for n in ref.names]
        else:
            header = "| experiment | " + " | ".join(escape.inline(page.name_label(n)) for n in ref.names) + " |"
            rule = "|---|" + "---:|" * len(ref.names)
            rows = [f"| {escape.inline(page.exp_label(e))} | " + " | ".join(cells[e, n] for n in ref.names) + " |"
                    for e in ref.exps]
        caption = f"\n\n_{html.escape(ref.caption)}_" if ref.caption else ""
        return "\n".join([header, rule, *rows]) + caption


def column_format(values: list) -> str | None:
    """The format a column of numbers shares when the post gives none: whole numbers with
    thousands separators; otherwise as many decimals as four significant digits of the
    smallest value need (at most 4), so 1.690 stands above 2.056, not 1.69."""
    import math

    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not numbers or len(numbers) != len([v for v in values if v is not None]):
        return None
    if all(isinstance(v, int) or (math.isfinite(v) and v == int(v)) for v in numbers):
        return ",.0f"                    # counts, even when reported as floats
    finite = [abs(v) for v in numbers if math.isfinite(v) and v != 0]
    if not finite:
        return None
    smallest = min(finite)
    if smallest < 1e-3 or max(finite) >= 1e6:
        return None                      # far from the decimals: the default format's exponent
    return f",.{max(0, min(4, 3 - math.floor(math.log10(smallest))))}f"


def cell(values: list, spec: str | None, seeds: tuple[int, ...]) -> str:
    """One seed's value, or mean ± sd over seeds (each seed's value on hover). A value
    every seed agrees on (a parameter count) is shown once: it has no spread."""
    numbers = [numeric(v) for v in values]
    if len(values) == 1 or None in numbers or all(v == values[0] for v in values):
        return escape.inline(fmt_number(values[0], spec))
    return spread_html(Spread(tuple(numbers)), spec, seeds)

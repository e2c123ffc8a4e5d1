"""``{{ seeds mlp : train_nll dev_nll:.3f }}``: one row per seed, then the mean and sd."""

from __future__ import annotations

import html
import re

from generator import escape
from generator.numbers import fmt_number
from generator.render.kinds.base import Kind, Need, no_metric
from generator.render.stats import Spread, numeric
from generator.render.syntax import EXP, RefSyntaxError, check_format


class Seeds(Kind):
    word = "seeds"
    example = "{{ seeds mlp : train_nll dev_nll:.3f }}"
    captioned = True

    def parse(self, source, args, caption, line):
        if len(args) < 3 or args[1] != ":" or not re.fullmatch(EXP, args[0]):
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': expected {self.example} "
                                       "(one experiment, ':', then metrics)")
        names, fmts = [], []
        for c in args[2:]:
            n, _, f = c.partition(":")
            check_format(f or None, line)
            names.append(n)
            fmts.append(f or None)
        return {"exps": (args[0],), "names": tuple(names), "fmt": tuple(fmts), "caption": caption}

    def needs(self, ref):
        return [Need(ref.exps[0], n, "metric") for n in ref.names]

    def render(self, ref, page):
        exp = ref.exps[0]
        run, results = page.seeds(ref, exp)
        if results is None:
            return page.missing(exp, True)
        for name in ref.names:
            if any(name not in res.metrics for res in results):
                return page.bad(ref, no_metric(run.function, name, results[0].metrics, listed=False))
        seeds = run.seeds or (run.seed,)
        rows = ["| seed | " + " | ".join(html.escape(n) for n in ref.names) + " |",
                "|---:|" + "---:|" * len(ref.names)]
        for seed, res in zip(seeds, results):
            rows.append(f"| {seed} | " + " | ".join(escape.inline(fmt_number(res.metrics[n], f))
                                                   for n, f in zip(ref.names, ref.fmt)) + " |")
        if len(results) > 1:
            for stat in ("mean", "sd"):
                cells = []
                for n, f in zip(ref.names, ref.fmt):
                    values = [numeric(res.metrics[n]) for res in results]
                    cells.append("" if None in values else
                                 escape.inline(fmt_number(Spread(tuple(values)).stat(stat), f)))
                rows.append(f"| **{stat}** | " + " | ".join(cells) + " |")
        caption = f"\n\n_{html.escape(ref.caption)}_" if ref.caption else ""
        return "\n".join(rows) + caption

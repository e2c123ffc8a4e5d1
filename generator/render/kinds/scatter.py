"""``{{ scatter params dev_nll : mlp deep_bn wavenet logx "A caption" }}``: one metric against another.

Each experiment is one point, named in the legend; with ``seeds:`` the point is the
mean over seeds and its bars span ± one standard deviation on either axis. Drawn from
the stored metrics at build time and cached like a chart, so it never re-runs anything.
"""

from __future__ import annotations

import re

from generator.errors import suggest
from generator.render.kinds.base import Kind, Need
from generator.render.stats import Spread, numeric
from generator.render.syntax import EXP, RefSyntaxError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FLAGS = ("logx", "logy")


class Scatter(Kind):
    word = "scatter"
    example = '{{ scatter params dev_nll : mlp deep_bn wavenet logx "Caption" }}'
    captioned = True

    def parse(self, source, args, caption, line):
        if ":" not in args or args.index(":") != 2 or not all(_NAME.match(a) for a in args[:2]):
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': expected {self.example} "
                                       "(the x metric, the y metric, ':', then experiments)")
        options, exps = {}, []
        for a in args[3:]:
            if a in _FLAGS:
                options[a] = True
            elif re.fullmatch(EXP, a):
                exps.append(a)
            else:
                raise RefSyntaxError(line, f"scatter: cannot read '{a}' (expected an experiment, "
                                           "logx, logy or a \"caption\")")
        if not exps:
            raise RefSyntaxError(line, "a scatter needs experiments after ':', e.g. " + self.example)
        return {"exps": tuple(exps), "names": tuple(args[:2]), "caption": caption, "options": options}

    def needs(self, ref):
        return [Need(e, n, "metric") for e in ref.exps for n in ref.names]

    def render(self, ref, page):
        from generator.render.charts import cached, draw_scatter

        points = []  # (label, x spread, y spread)
        keys = []
        for exp in ref.exps:
            run, results = page.seeds(ref, exp)
            if results is None:
                return page.missing(exp, True)
            axes = []
            for name in ref.names:
                values = [numeric(res.metrics.get(name)) for res in results]
                if None in values:
                    return page.bad(ref, f"{exp} ({run.function}) reported no number '{name}'"
                                         f"{suggest(name, results[0].metrics)}")
                axes.append(Spread(tuple(values)))
            points.append((exp, *axes))
            keys.append([res.key for res in results])
        spec = {"points": [(label, list(x.values), list(y.values)) for label, x, y in points],
                "x": ref.names[0], "y": ref.names[1],
                **{flag: ref.options.get(flag, False) for flag in _FLAGS}}
        name, paths = cached(page.charts_dir, {"scatter": spec, "keys": keys},
                             lambda name: draw_scatter(spec, page.charts_dir, name))
        alt = ref.caption or f"{ref.names[1]} against {ref.names[0]}"
        return page.chart(f"assets/chart-{name}", paths, alt, ref.caption)

"""``{{ chart mlp.train_loss baseline=fourgram.dev_nll logy "A caption" }}``: logged series, drawn at build time."""

from __future__ import annotations

import hashlib

from generator.errors import suggest
from generator.kinds import Kind, Need
from generator.refs import DOTTED, RefSyntaxError
from generator.stats import Spread


class Chart(Kind):
    word = "chart"
    example = '{{ chart mlp.train_loss mlp.dev_loss baseline=fourgram.dev_nll logy "Caption" }}'
    captioned = True

    def parse(self, source, args, caption, line):
        series, options = [], {}
        for a in args:
            if "=" in a:
                k, _, v = a.partition("=")
                if k != "baseline" or not DOTTED.match(v):
                    raise RefSyntaxError(line, f"chart option '{a}': expected baseline=exp.metric")
                options[k] = DOTTED.match(v).groups()
            elif a in ("logy", "logx"):
                options[a] = True
            elif DOTTED.match(a):
                series.append(DOTTED.match(a).groups())
            else:
                raise RefSyntaxError(line, f"chart: cannot read '{a}' (expected exp.series, "
                                           "baseline=exp.metric, logy or a \"caption\")")
        if not series:
            raise RefSyntaxError(line, "a chart needs at least one series, e.g. {{ chart mlp.train_loss }}")
        return {"exps": tuple(e for e, _ in series), "names": tuple(n for _, n in series),
                "caption": caption, "options": options}

    def needs(self, ref):
        needs = [Need(e, n, "series") for e, n in zip(ref.exps, ref.names)]
        if "baseline" in ref.options:
            needs.append(Need(*ref.options["baseline"], "metric"))
        return needs

    def render(self, ref, page):
        from generator.charts import cached_chart, draw_chart
        from generator.plan import canonical
        from generator.render import CHART_VERSION

        lines = []  # (label, results of every seed, series name)
        for exp, name in zip(ref.exps, ref.names):
            run, results = page.seeds(ref, exp)
            if results is None:
                return page.missing(exp, True)
            label = f"{exp}.{name}" + (f" (mean ± sd of {len(results)} seeds)" if len(results) > 1 else "")
            lines.append((label, results, name))
        baseline = None
        if "baseline" in ref.options:
            exp, name = ref.options["baseline"]
            run, results = page.seeds(ref, exp)
            if results is None:
                return page.missing(exp, True)
            if any(name not in res.metrics for res in results):
                return page.bad(ref, f"baseline: {run.function} reported no metric '{name}'"
                                     f"{suggest(name, results[0].metrics)}")
            value = Spread(tuple(float(res.metrics[name]) for res in results)).mean
            baseline = (f"{exp}.{name}", value)
        options = {"baseline": baseline, "logy": ref.options.get("logy", False),
                   "logx": ref.options.get("logx", False)}
        # Results are content-addressed, so (keys, series name) names the data: the digest
        # needs no reading of series, and a chart drawn before proves its series exist.
        named = [(label, [res.key for res in results]) if len(results) > 1 else (label, results[0].key)
                 for label, results, _ in lines]
        digest = hashlib.sha256(canonical({"v": CHART_VERSION, "lines": named, **options})
                                .encode()).hexdigest()[:16]
        base = f"assets/chart-{digest}"
        paths = cached_chart(page.charts_dir, digest)
        if paths is None:
            points = []
            for label, results, name in lines:
                for res in results:
                    if name not in res.series:
                        return page.bad(ref, f"{res.meta.get('function')} logged no series '{name}'"
                                             f"{suggest(name, res.series)} (it logged: "
                                             f"{', '.join(res.series) or 'none'})")
                if len(results) == 1:
                    points.append((label, results[0].series[name]))
                else:
                    points.append((label, *mean_and_band([res.series[name] for res in results])))
            paths = draw_chart({"lines": points, **options}, page.charts_dir, digest)
        page.files[f"{base}.light.png"], page.files[f"{base}.dark.png"] = paths
        return page.figure(base, ref.caption or ", ".join(n for n, _, _ in lines), ref.caption)


def mean_and_band(runs: list[list[list[float]]]) -> tuple[list, list]:
    """The mean of a series over seeds at the steps every seed logged, and mean ± sd there."""
    by_step = [{p[0]: float(p[1]) for p in series} for series in runs]
    steps = sorted(set.intersection(*(set(s) for s in by_step)))
    mean, band = [], []
    for step in steps:
        s = Spread(tuple(seed[step] for seed in by_step))
        mean.append([step, s.mean])
        band.append([step, s.mean - s.sd, s.mean + s.sd])
    return mean, band

"""``{{ chart mlp.train_loss baseline=fourgram.dev_nll logy "A caption" }}``: logged series, drawn at build time."""

from __future__ import annotations

from generator.errors import suggest
from generator.render.kinds.base import Kind, Need, no_metric
from generator.render.stats import Spread
from generator.render.syntax import DOTTED, RefSyntaxError

OPTIONS = ("baseline=exp.metric", "ylabel=\"text\"", "xlim=LOW:HIGH", "ylim=LOW:HIGH", "smooth=N")


def _option(key: str, value: str, arg: str, line: int):
    """One ``key=value`` option of a chart, checked."""
    if key == "baseline":
        if not DOTTED.match(value):
            raise RefSyntaxError(line, f"chart option '{arg}': expected baseline=exp.metric")
        return DOTTED.match(value).groups()
    if key == "ylabel":
        if not value.strip():
            raise RefSyntaxError(line, 'chart option ylabel: expected ylabel="dev NLL (nats)"')
        return value
    if key in ("xlim", "ylim"):
        low, sep, high = value.partition(":")
        try:
            bounds = [float(b) if b.strip() else None for b in (low, high)]
        except ValueError:
            bounds = None
        if not sep or bounds is None or bounds == [None, None] or \
                (None not in bounds and bounds[0] >= bounds[1]):
            raise RefSyntaxError(line, f"chart option '{arg}': expected {key}=LOW:HIGH with LOW < HIGH "
                                       f"(either may be left out: {key}=0: or {key}=:2.5)")
        return bounds
    if key == "smooth":
        if not value.isdigit() or not 2 <= int(value) <= 100_000:
            raise RefSyntaxError(line, f"chart option '{arg}': expected smooth=N, a window of 2 to "
                                       "100000 points (the raw series stays, faint, behind)")
        return int(value)
    raise RefSyntaxError(line, f"chart: unknown option '{key}' (options: {', '.join(OPTIONS)})")


class Chart(Kind):
    word = "chart"
    example = '{{ chart mlp.train_loss mlp.dev_loss baseline=fourgram.dev_nll logy "Caption" }}'
    captioned = True

    def parse(self, source, args, caption, line):
        series, options = [], {}
        for a in args:
            if "=" in a:
                k, _, v = a.partition("=")
                options[k] = _option(k, v, a, line)
            elif a in ("logy", "logx", "linear"):
                options[a] = True
            elif DOTTED.match(a):
                series.append(DOTTED.match(a).groups())
            else:
                raise RefSyntaxError(line, f"chart: cannot read '{a}' (expected exp.series, an option "
                                           f"({', '.join(OPTIONS)}), logy, logx, linear or a \"caption\")")
        if not series:
            raise RefSyntaxError(line, "a chart needs at least one series, e.g. {{ chart mlp.train_loss }}")
        if options.get("logy") and options.get("linear"):
            raise RefSyntaxError(line, "chart: logy and linear contradict each other")
        return {"exps": tuple(e for e, _ in series), "names": tuple(n for _, n in series),
                "caption": caption, "options": options}

    def needs(self, ref):
        needs = [Need(e, n, "series") for e, n in zip(ref.exps, ref.names)]
        if "baseline" in ref.options:
            needs.append(Need(*ref.options["baseline"], "metric"))
        return needs

    def render(self, ref, page):
        from generator.render.charts import cached, draw_chart

        lines = []  # (label, results of every seed, series name)
        for exp, name in zip(ref.exps, ref.names):
            run, results = page.seeds(ref, exp)
            if results is None:
                return page.missing(exp, True)
            lines.append((_series_label(page, ref, exp, name)
                          + (f" (mean ± sd of {len(results)} seeds)" if len(results) > 1 else ""),
                          results, name))
        baseline = None
        if "baseline" in ref.options:
            exp, name = ref.options["baseline"]
            run, results = page.seeds(ref, exp)
            if results is None:
                return page.missing(exp, True)
            if any(name not in res.metrics for res in results):
                return page.bad(ref, "baseline: " + no_metric(run.function, name, results[0].metrics,
                                                              listed=False))
            value = Spread(tuple(float(res.metrics[name]) for res in results)).mean
            baseline = (f"{page.exp_label(exp)}, {page.name_label(name, exp)}", value)
        ylabel = ref.options.get("ylabel") or " / ".join(
            dict.fromkeys(page.name_label(n, e) for e, n in zip(ref.exps, ref.names)))
        options = {"baseline": baseline, "logy": ref.options.get("logy", False),
                   "logx": ref.options.get("logx", False), "linear": ref.options.get("linear", False),
                   "ylabel": ylabel, "xlim": ref.options.get("xlim"), "ylim": ref.options.get("ylim"),
                   "smooth": ref.options.get("smooth")}
        # Results are content-addressed, so (keys, series name) names the data: the digest
        # needs no reading of series, and a chart drawn before proves its series exist.
        named = [(label, [res.key for res in results]) if len(results) > 1 else (label, results[0].key)
                 for label, results, _ in lines]
        missing = []

        def draw(name):
            points = []
            for label, results, series in lines:
                for res in results:
                    if series not in res.series:
                        missing.append(f"{res.meta.get('function')} logged no series '{series}'"
                                       f"{suggest(series, res.series)} (it logged: "
                                       f"{', '.join(res.series) or 'none'})")
                        return None
                if len(results) == 1:
                    points.append((label, results[0].series[series]))
                else:
                    points.append((label, *mean_and_band([res.series[series] for res in results])))
            return draw_chart({"lines": points, **options}, page.charts_dir, name)

        found = cached(page.charts_dir, {"lines": named, **options}, draw)
        if found is None:
            return page.bad(ref, missing[0])
        name, paths = found
        return page.chart(f"assets/chart-{name}", paths, ref.caption or ", ".join(n for n, _, _ in lines),
                          ref.caption)


def _series_label(page, ref, exp: str, name: str) -> str:
    """A line's name in the legend: the experiment's label, the series' label, or both,
    whichever tells the chart's lines apart."""
    if len(set(ref.names)) == 1:
        return page.exp_label(exp)
    if len(set(ref.exps)) == 1:
        return page.name_label(name, exp)
    return f"{page.exp_label(exp)}, {page.name_label(name, exp)}"


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

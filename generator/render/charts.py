"""Charts drawn at render time from logged series, cached by their content.

Changing a chart in the prose redraws it from stored series; it never re-runs an
experiment. A chart whose data and options did not change is not redrawn, so a
warm build does not even import matplotlib.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator.hashing import digest as _digest
from generator.style import NARROW, WIDTH

_PACKAGE = Path(__file__).resolve().parents[1]
# Charts are cached by their data and by the code that draws them (style.py holds the type scale).
CHART_VERSION = hashlib.sha256(b"".join(
    p.read_bytes() for p in (Path(__file__), _PACKAGE / "figures.py", _PACKAGE / "style.py"))).hexdigest()[:12]
Paths = tuple[Path, Path]   # a chart's light and dark PNG (its phone-width pair lies beside them)


def _in_cache(cache: Path, name: str) -> Paths | None:
    light = cache / f"{name}.light.png"
    dark = cache / f"{name}.dark.png"
    narrow = (cache / f"{name}.narrow.light.png", cache / f"{name}.narrow.dark.png")
    return (light, dark) if all(p.is_file() for p in (light, dark, *narrow)) else None


def chart_files(paths: Paths) -> dict[str, Path]:
    """A chart's PNGs by variant: ``light``, ``dark`` and, drawn at a phone's width and
    kept beside them, ``narrow.light`` and ``narrow.dark`` (when they exist)."""
    light, dark = paths
    out = {"light": light, "dark": dark}
    for variant, path in (("narrow.light", light), ("narrow.dark", dark)):
        sibling = path.with_name(path.name.replace(".light.png", ".narrow.light.png")
                                 .replace(".dark.png", ".narrow.dark.png"))
        if sibling.is_file():
            out[variant] = sibling
    return out


def cached(cache: Path, identity: dict, draw: Callable[[str], Paths | None],
           prefix: str = "") -> tuple[str, Paths] | None:
    """A chart's name (``prefix`` and a digest of ``identity`` and the drawing code) and its
    light and dark PNGs in ``cache``: drawn by ``draw(name)`` only when not cached already.
    ``identity`` names what the chart shows (result keys, options), never the data itself:
    results are content-addressed. ``draw`` may return None (nothing to draw): so does this."""
    name = prefix + _digest({"v": CHART_VERSION, **identity}, 16)
    found = _in_cache(cache, name)
    if found is not None:
        return name, found
    drawn = draw(name)
    return None if drawn is None else (name, drawn)


def _cached(cache: Path, digest: str, draw: Callable, inputs: dict | None = None,
            size: tuple[float, float] = (WIDTH, 3.6)) -> Paths:
    """The light and dark PNGs of a chart, drawn by ``draw(ax)`` only if not cached: once at
    ``size`` for the text column and once for a phone's width (``<digest>.narrow.*.png``, see
    ``generator.figures.narrow_size``), where the same type sizes read as large as the page's.

    ``inputs`` (what the chart shows, without its data: labels, scales, limits) is kept
    beside the images as ``<digest>.json``, so what a chart says can be checked without
    reading pixels."""
    found = _in_cache(cache, digest)
    if found:
        return found
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from generator.figures import narrow_size, save_light_dark, style

    tmp = cache / f".{digest}"  # drawn aside, then moved: a cache never holds half a chart
    for suffix, narrow in (("", False), (".narrow", True)):
        with style():
            fig, ax = plt.subplots(figsize=size)
            if narrow:
                fig.set_size_inches(*narrow_size(fig, NARROW))
            draw(ax)
            ax.grid(True, alpha=0.4)
            _legend(ax, narrow)
            fig.tight_layout()
        save_light_dark(fig, tmp, digest + suffix, width=None)
    cache.mkdir(parents=True, exist_ok=True)
    if inputs is not None:
        import json

        (cache / f"{digest}.json").write_text(json.dumps(inputs, indent=1, sort_keys=True) + "\n",
                                              encoding="utf-8")
    for variant in ("narrow.dark", "narrow.light", "dark", "light"):   # light last: _in_cache's sign
        (tmp / f"{digest}.{variant}.png").replace(cache / f"{digest}.{variant}.png")
    tmp.rmdir()
    return cache / f"{digest}.light.png", cache / f"{digest}.dark.png"


def _legend(ax, narrow: bool = False) -> None:
    """A legend inside the axes while it is small; below them, in columns (one on a phone's
    width), once it would cover data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if len(handles) <= 3 and max(len(label) for label in labels) <= (24 if narrow else 40):
        ax.legend(frameon=True, loc="best")
    else:   # below the tick labels and the x label: about 0.6 inch under the axes
        height = ax.figure.get_size_inches()[1] - 0.9
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.6 / max(height, 1.0)),
                  ncol=2 if len(handles) > 2 and not narrow else 1)


def steps_formatter():
    """Tick labels for step counts: 0, 500, 50k, 1.5M (not 125000 or 1e6)."""
    from matplotlib.ticker import FuncFormatter

    def fmt(v: float, _pos=None) -> str:
        a = abs(v)
        for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if a >= size:
                return f"{v / size:g}{suffix}"
        return f"{v:g}"

    return FuncFormatter(fmt)


def smoothed(points: list, window: float) -> list:
    """The mean of ``points`` within ``window`` steps centred on each one (fewer at the ends).

    The window is a span of steps, not a count of points, so a sparse series (a dev loss
    logged every 4,000 steps) is averaged over the same stretch of training as a dense one
    beside it, and every smoothed value lies within the range of the raw values around it."""
    steps, values = [float(p[0]) for p in points], [float(p[1]) for p in points]
    out, lo, hi, total = [], 0, 0, 0.0
    for i, step in enumerate(steps):
        while hi < len(steps) and steps[hi] <= step + window / 2:
            total += values[hi]
            hi += 1
        while steps[lo] < step - window / 2:
            total -= values[lo]
            lo += 1
        out.append([points[i][0], total / (hi - lo)])
    return out


def spacing(points: list) -> float:
    """The median number of steps between a series' points (0 for fewer than two)."""
    gaps = sorted(float(b[0]) - float(a[0]) for a, b in zip(points, points[1:]))
    return gaps[len(gaps) // 2] if gaps else 0.0


def drawn_lines(lines: list, smooth: int | None) -> list[list[tuple[str | None, list, list, bool]]]:
    """What a chart draws for each of its series: (label, steps, values, faint) per line.

    ``smooth=N`` is a window of N points of the chart's densest series, as a span of steps
    (see :func:`smoothed`): a series is drawn faint as logged and, over it, its mean in that
    window. A series with fewer than two points in the window is drawn as logged, once:
    averaging it would only blur the few points it has."""
    gaps = [spacing(points) for _, points, *_ in lines]
    window = smooth * min((g for g in gaps if g > 0), default=0.0) if smooth else 0.0
    out = []
    for (label, points, *_), gap in zip(lines, gaps):
        xs, ys = [p[0] for p in points], [float(p[1]) for p in points]
        if window and gap and window >= 2 * gap:
            out.append([(None, xs, ys, True), (label, xs, [p[1] for p in smoothed(points, window)], False)])
        else:
            out.append([(label, xs, ys, False)])
    return out


def spans_decades(lines: list) -> bool:
    """Whether the values are all positive and the largest is more than ten times the smallest:
    on a linear axis such a curve is a spike and a flat line."""
    values = [float(p[1]) for _, points, *_ in lines for p in points]
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 10


def draw_chart(spec: dict[str, Any], cache: Path, digest: str) -> tuple[Path, Path]:
    """Series against steps, with an optional horizontal baseline. A line may carry a band
    ``[[step, low, high], ...]`` (the spread over seeds), drawn shaded in its colour.

    ``logy`` is used when asked for, or when the values span more than a decade (unless
    ``linear``); ``smooth`` draws each series' mean over a window of steps, with the raw
    series faint behind it (:func:`drawn_lines`)."""
    logy = bool(spec.get("logy")) or (not spec.get("linear") and spans_decades(spec["lines"]))
    inputs = {k: spec.get(k) for k in ("ylabel", "xlim", "ylim", "smooth", "logx")}
    inputs.update(logy=logy, xlabel="step", labels=[line[0] for line in spec["lines"]],
                  baseline=spec["baseline"][0] if spec.get("baseline") else None)

    def draw(ax) -> None:
        lines = spec["lines"]
        if spec.get("logx"):   # step 0 has no place on a log axis; keep it off the y range too
            lines = [(label, [p for p in points if p[0] > 0],
                      *([[b for b in band[0] if b[0] > 0]] if band and band[0] else band))
                     for label, points, *band in lines]
        for drawn, (_, _, *band) in zip(drawn_lines(lines, spec.get("smooth")), lines):
            color = None
            for label, xs, ys, faint in drawn:
                (line,) = ax.plot(xs, ys, label=label, color=color,
                                  linewidth=0.8 if faint else 1.6, alpha=0.25 if faint else 1.0)
                color = line.get_color()
            if band and band[0]:  # seeds: mean ± sd at each step
                ax.fill_between([b[0] for b in band[0]], [b[1] for b in band[0]],
                                [b[2] for b in band[0]], color=color, alpha=0.2, linewidth=0)
        if spec.get("baseline"):
            label, value = spec["baseline"]
            ax.axhline(value, color="black", linestyle="--", linewidth=1.1,
                       label=f"{label} = {value:.4g}")
        if logy:
            from matplotlib.ticker import FuncFormatter

            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 2, 10 rather than 2×10⁰
            # minor ticks: label 2, 3 and 5 times a power of ten, not every one of 2…9
            ax.yaxis.set_minor_formatter(FuncFormatter(
                lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "235" else ""))
        if spec.get("logx"):
            ax.set_xscale("log")
        ax.xaxis.set_major_formatter(steps_formatter())
        if spec.get("xlim"):
            ax.set_xlim(*spec["xlim"])
        if spec.get("ylim"):
            ax.set_ylim(*spec["ylim"])
        ax.set_xlabel("step")
        ax.set_ylabel(spec.get("ylabel") or "value")

    return _cached(cache, digest, draw, inputs)


def draw_progress(spec: dict[str, Any], cache: Path, digest: str) -> tuple[Path, Path]:
    """One tracked quantity across weeks: a point per headline result, named in words, with
    bars of ± one sd over seeds where it has them, and the best so far as a step line when
    the quantity has a direction. Names are in the page's ink, which reads on both palettes."""
    weeks = spec["weeks"]

    def draw(ax) -> None:
        points = [(*p, None)[:4] for p in spec["points"]]   # (week, name, value, sd)
        for x, _, y, sd in points:
            ax.errorbar([x], [y], yerr=[sd] if sd else None, fmt="o", markersize=6, color="C0",
                        capsize=3, zorder=3)
        for x, exp, y, _ in points:
            ax.annotate(exp, (x, y), xytext=(8, 5), textcoords="offset points", va="bottom",
                        fontsize=9, color="black")
        better = {"lower": min, "higher": max}.get(spec.get("direction"))
        if better is not None:
            best, steps = None, []
            for week in range(len(weeks)):
                here = [p[2] for p in points if p[0] == week]
                if here:
                    best = better([best, *here]) if best is not None else better(here)
                if best is not None:
                    steps.append((week, best))
            ax.step([s[0] for s in steps] + [len(weeks) - 0.2], [s[1] for s in steps] + [steps[-1][1]],
                    where="post", color="C1", linewidth=1.1, linestyle="--", alpha=0.8, zorder=1,
                    label="best so far")
        ax.set_xticks(range(len(weeks)), weeks)
        ax.set_xlim(-0.4, len(weeks) - 0.2)
        low = [p[2] - (p[3] or 0) for p in points]
        high = [p[2] + (p[3] or 0) for p in points]
        pad = (max(high) - min(low)) * 0.15 or abs(points[0][2]) * 0.05 or 1
        ax.set_ylim(min(low) - pad, max(high) + pad)   # no point on the frame
        ax.set_ylabel(spec["ylabel"])

    return _cached(cache, digest, draw, {"ylabel": spec["ylabel"], "labels": [p[1] for p in spec["points"]]},
                   size=(WIDTH, 3.2))


def draw_scatter(spec: dict[str, Any], cache: Path, digest: str) -> tuple[Path, Path]:
    """One metric against another, a point per experiment (named in the legend): the mean
    over its seeds, with bars of ± one standard deviation when it has more than one."""
    from generator.render.stats import Spread

    def draw(ax) -> None:
        for i, (label, xs, ys) in enumerate(spec["points"]):
            x, y = Spread(tuple(xs)), Spread(tuple(ys))
            marker = "osD^v<>"[i // 10 % 7]  # ten colours, then a new shape
            ax.errorbar([x.mean], [y.mean], xerr=[x.sd] if x.n > 1 else None,
                        yerr=[y.sd] if y.n > 1 else None, fmt=marker, color=f"C{i % 10}", capsize=3,
                        label=label + (f" ({y.n} seeds)" if y.n > 1 else ""))
        if spec.get("logx"):
            ax.set_xscale("log")
        if spec.get("logy"):
            ax.set_yscale("log")
        ax.set_xlabel(spec["x"])
        ax.set_ylabel(spec["y"])

    return _cached(cache, digest, draw)

"""Charts drawn at render time from logged series, cached by their content.

Changing a chart in the prose redraws it from stored series; it never re-runs an
experiment. A chart whose data and options did not change is not redrawn, so a
warm build does not even import matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def cached_chart(cache: Path, digest: str) -> tuple[Path, Path] | None:
    light = cache / f"{digest}.light.png"
    dark = cache / f"{digest}.dark.png"
    return (light, dark) if light.is_file() and dark.is_file() else None


def _cached(cache: Path, digest: str, draw: Callable) -> tuple[Path, Path]:
    """The light and dark PNGs of a chart, drawn by ``draw(ax)`` only if not cached."""
    found = cached_chart(cache, digest)
    if found:
        return found
    light = cache / f"{digest}.light.png"
    dark = cache / f"{digest}.dark.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from generator.figures import save_light_dark

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    draw(ax)
    ax.grid(True, alpha=0.4)
    ax.legend(frameon=True, fontsize=8)
    fig.tight_layout()
    tmp = cache / f".{digest}"  # drawn aside, then moved: a cache never holds half a chart
    save_light_dark(fig, tmp, digest)
    light.parent.mkdir(parents=True, exist_ok=True)
    (tmp / f"{digest}.dark.png").replace(dark)
    (tmp / f"{digest}.light.png").replace(light)
    tmp.rmdir()
    return light, dark


def draw_chart(spec: dict[str, Any], cache: Path, digest: str) -> tuple[Path, Path]:
    """Series against steps, with an optional horizontal baseline. A line may carry a band
    ``[[step, low, high], ...]`` (the spread over seeds), drawn shaded in its colour."""
    def draw(ax) -> None:
        for label, points, *band in spec["lines"]:
            (line,) = ax.plot([p[0] for p in points], [float(p[1]) for p in points], label=label,
                              linewidth=1.4)
            if band and band[0]:  # seeds: mean ± sd at each step
                ax.fill_between([b[0] for b in band[0]], [b[1] for b in band[0]],
                                [b[2] for b in band[0]], color=line.get_color(), alpha=0.2,
                                linewidth=0)
        if spec.get("baseline"):
            label, value = spec["baseline"]
            ax.axhline(value, color="black", linestyle="--", linewidth=1.1,
                       label=f"{label} = {value:.4g}")
        if spec.get("logy"):
            from matplotlib.ticker import FuncFormatter

            ax.set_yscale("log")
            plain = FuncFormatter(lambda v, _: f"{v:g}")  # 2, 3, 10 rather than 2×10⁰
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
        if spec.get("logx"):
            ax.set_xscale("log")
        ax.set_xlabel("step")

    return _cached(cache, digest, draw)


def draw_progress(spec: dict[str, Any], cache: Path, digest: str) -> tuple[Path, Path]:
    """Headline metrics across weeks: one line per metric, weeks on the x axis."""
    weeks = spec["weeks"]

    def draw(ax) -> None:
        # one colour per metric name; each point is labelled with its experiment
        by_metric: dict[str, list] = {}
        for label, values in spec["lines"]:
            exp, _, metric = label.partition(".")
            by_metric.setdefault(metric, []).extend(
                (i, v, exp) for i, v in enumerate(values) if v is not None)
        for metric, points in by_metric.items():
            dots = ax.scatter([p[0] for p in points], [p[1] for p in points], s=36, label=metric,
                              zorder=3)
            for x, y, exp in points:
                ax.annotate(exp, (x, y), xytext=(7, 0), textcoords="offset points", fontsize=8,
                            va="center", color=dots.get_facecolor()[0])
        ax.set_xticks(range(len(weeks)), weeks, rotation=0 if len(weeks) < 6 else 30)
        ax.set_xlim(-0.5, len(weeks) - 0.5)

    return _cached(cache, digest, draw)


def draw_scatter(spec: dict[str, Any], cache: Path, digest: str) -> tuple[Path, Path]:
    """One metric against another, a point per experiment (named in the legend): the mean
    over its seeds, with bars of ± one standard deviation when it has more than one."""
    from generator.stats import Spread

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

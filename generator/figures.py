"""Light and dark variants of matplotlib figures, matching mkdocs-material's schemes.

A figure is drawn once with default colours. ``save_light_dark`` writes it as
``<name>.light.png`` and ``<name>.dark.png``: the dark copy recolours every
background, text, spine, tick and near-black line to the slate palette, then
puts the figure back as it was.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.colors import to_rgba  # noqa: E402

from generator.handle import DARK, LIGHT  # noqa: E402

DPI = 200  # 2x a 100-dpi screen: crisp on high-density displays
WIDTH = 6.4  # inches: a figure or chart fills the post's text column at this width
# One type scale for every chart and figure (points, at WIDTH): readable at the column's
# width on a laptop and on a phone. An experiment can pass its own to ``run.figure``.
TYPE_SCALE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
              "ytick.labelsize": 9, "legend.fontsize": 9, "figure.titlesize": 12,
              "image.cmap": "viridis"}


def style(**overrides):
    """A context in which matplotlib draws with the journal's type scale (and ``overrides``)."""
    return matplotlib.rc_context({**TYPE_SCALE, **overrides})


def _is_dark_ink(color) -> bool:
    try:
        r, g, b, a = to_rgba(color)
    except (ValueError, TypeError):
        return False
    return a > 0 and max(r, g, b) < 0.3  # black and near-black


def _is_white(color) -> bool:
    try:
        r, g, b, a = to_rgba(color)
    except (ValueError, TypeError):
        return False
    return a > 0 and min(r, g, b) > 0.95


def _restyle(fig, palette: dict[str, str]) -> list:
    """Recolour ``fig`` in place; return undo actions."""
    undo = []

    def setc(obj, getter, setter, value):
        old = getattr(obj, getter)()
        undo.append((getattr(obj, setter), old))
        getattr(obj, setter)(value)

    setc(fig.patch, "get_facecolor", "set_facecolor", palette["bg"])
    for text in fig.findobj(matplotlib.text.Text):
        if _is_dark_ink(text.get_color()):
            setc(text, "get_color", "set_color", palette["fg"])
    for ax in fig.axes:
        setc(ax.patch, "get_facecolor", "set_facecolor", palette["bg"])
        for spine in ax.spines.values():
            setc(spine, "get_edgecolor", "set_edgecolor", palette["fg"])
        for axis in (ax.xaxis, ax.yaxis):
            for line in axis.get_ticklines() + axis.get_ticklines(minor=True):
                setc(line, "get_color", "set_color", palette["fg"])
            for line in axis.get_gridlines():
                setc(line, "get_color", "set_color", palette["grid"])
        for line in ax.get_lines():
            if _is_dark_ink(line.get_color()):
                setc(line, "get_color", "set_color", palette["fg"])
        legend = ax.get_legend()
        if legend is not None:
            frame = legend.get_frame()
            setc(frame, "get_facecolor", "set_facecolor", palette["bg"])
            setc(frame, "get_edgecolor", "set_edgecolor", palette["grid"])
        for coll in ax.collections:
            try:
                edges = coll.get_edgecolor()
            except AttributeError:
                continue
            if len(edges) == 1 and (_is_dark_ink(edges[0]) or _is_white(edges[0])):
                setc(coll, "get_edgecolor", "set_edgecolor", palette["bg"] if _is_white(edges[0]) else palette["fg"])
    return undo


def save_light_dark(fig, folder: Path, name: str) -> tuple[Path, Path]:
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    light = folder / f"{name}.light.png"
    dark = folder / f"{name}.dark.png"
    undo = _restyle(fig, LIGHT)
    fig.savefig(light, dpi=DPI, facecolor=fig.get_facecolor(), bbox_inches="tight", metadata={"Software": None})
    for setter, old in reversed(undo):
        setter(old)
    undo = _restyle(fig, DARK)
    fig.savefig(dark, dpi=DPI, facecolor=fig.get_facecolor(), bbox_inches="tight", metadata={"Software": None})
    for setter, old in reversed(undo):
        setter(old)
    plt.close(fig)
    return light, dark

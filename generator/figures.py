"""Light and dark variants of matplotlib figures, matching mkdocs-material's schemes.

A figure is drawn once with default colours. ``save_light_dark`` writes it as
``<name>.light.png`` and ``<name>.dark.png``: the dark copy recolours every
background, text, spine, tick and near-black line to the slate palette, draws
colour maps that start at white (``Blues``, ``Greys``) reversed so that empty
cells are dark, then puts the figure back as it was.

Every figure is saved at the same width (``WIDTH``; an experiment may keep its
own), so a point of type is the same size on the page in every figure, and
experiments draw with ``RC`` (the type scale, a default size and colour map)
unless they set their own.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine  # noqa: E402

from generator.style import DARK, LIGHT, RC, TYPE_SCALE, WIDTH  # noqa: E402

DPI = 200  # 2x a 100-dpi screen: crisp on high-density displays


def style(**overrides):
    """A context in which matplotlib draws with the journal's type scale (and ``overrides``)."""
    return matplotlib.rc_context({**TYPE_SCALE, **overrides})


def use_defaults() -> None:
    """Make ``RC`` matplotlib's defaults in this process (a run's worker)."""
    matplotlib.rcParams.update(RC)


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


def _starts_white(cmap) -> bool:
    """A colour map whose low end is (near) white: on a dark page its empty cells glare."""
    if cmap is None:
        return False
    r, g, b, _ = cmap(0.0)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.9


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
        if palette is DARK:
            for mappable in [*ax.images, *ax.collections]:
                if _starts_white(getattr(mappable, "cmap", None)):
                    setc(mappable, "get_cmap", "set_cmap", mappable.get_cmap().reversed())
        for coll in ax.collections:
            try:
                edges = coll.get_edgecolor()
            except AttributeError:
                continue
            if len(edges) == 1 and (_is_dark_ink(edges[0]) or _is_white(edges[0])):
                setc(coll, "get_edgecolor", "set_edgecolor", palette["bg"] if _is_white(edges[0]) else palette["fg"])
    for legend in [ax.get_legend() for ax in fig.axes] + list(fig.legends):
        if legend is None:
            continue
        frame = legend.get_frame()
        setc(frame, "get_facecolor", "set_facecolor", palette["bg"])
        setc(frame, "get_edgecolor", "set_edgecolor", palette["grid"])
        for line in legend.get_lines():  # a legend draws its own copy of each line
            if _is_dark_ink(line.get_color()):
                setc(line, "get_color", "set_color", palette["fg"])
    return undo


def save_light_dark(fig, folder: Path, name: str, *, width: float | None = WIDTH) -> tuple[Path, Path]:
    """Write ``fig`` light and dark; at ``width`` inches wide (its height scaled to match),
    or as drawn when ``width`` is None."""
    import matplotlib.pyplot as plt

    if width is not None:
        w, h = fig.get_size_inches()
        if abs(w - width) > 1e-6:
            fig.set_size_inches(width, h * width / w)
            # a layout made at the drawn size (tight_layout) no longer fits: lay it out again
            if not isinstance(fig.get_layout_engine(), (ConstrainedLayoutEngine, TightLayoutEngine)):
                try:
                    fig.set_layout_engine("constrained")
                except RuntimeError:  # colorbars made under another engine: keep it as it is
                    pass
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

"""Light and dark variants of matplotlib figures, matching mkdocs-material's schemes.

A figure is drawn once with default colours. ``save_light_dark`` writes it as
``<name>.light.png`` and ``<name>.dark.png``: the dark copy recolours every
background, text, spine, tick and near-black line to the slate palette, draws
colour maps that start at white (``Blues``, ``Greys``) reversed so that empty
cells are dark, then puts the figure back as it was.

Every figure is saved at the same width (``WIDTH``; an experiment may keep its
own), so a point of type is the same size on the page in every figure, and
experiments draw with ``RC`` (the type scale, a default size and colour map)
unless they set their own. ``save_variants`` also draws it at a phone's width
(``NARROW``), where the same type sizes read at a phone's scale. Every PNG is
stored with at most 256 colours when that loses nothing a reader could see
(``optimise_png``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine  # noqa: E402

from generator.style import DARK, LIGHT, NARROW, RC, TYPE_SCALE, WIDTH  # noqa: E402

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


def _luminance(rgb) -> float:
    """WCAG relative luminance of an (r, g, b) in 0..1."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _cell_colours(ax):
    """Each text drawn in data coordinates over an image (a heatmap's cell labels), with the
    colour of the cell under it, as that image is drawn now."""
    import numpy as np

    for im in ax.images:
        values = im.get_array()
        if values is None or np.ndim(values) != 2:
            continue
        rows, cols = np.shape(values)
        left, right, bottom, top = im.get_extent()
        for text in ax.texts:
            if text.get_transform() != ax.transData:
                continue
            x, y = text.get_position()
            col = int((x - left) / (right - left) * cols)
            row = int((y - top) / (bottom - top) * rows) if im.origin == "upper" else \
                int((y - bottom) / (top - bottom) * rows)
            if 0 <= row < rows and 0 <= col < cols:
                yield text, im.cmap(im.norm(values[row, col]))


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
        # a label on a heatmap's cell reads on that cell: the page's ink or white, whichever
        # stands out more from the cell's colour (in this palette's colour map)
        for text, cell in list(_cell_colours(ax)):
            ink = max((LIGHT["fg"], "#ffffff"), key=lambda c: _contrast(to_rgba(c), cell))
            setc(text, "get_color", "set_color", ink)
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


def save_light_dark(fig, folder: Path, name: str, *, width: float | None = WIDTH,
                    height: float | None = None, close: bool = True) -> tuple[Path, Path]:
    """Write ``fig`` light and dark; at ``width`` inches wide (its height scaled to match,
    or ``height``), or as drawn when ``width`` is None. Each PNG is then optimised."""
    import matplotlib.pyplot as plt

    if width is not None:
        w, h = fig.get_size_inches()
        h = height if height is not None else h * width / w
        if abs(w - width) > 1e-6 or abs(fig.get_size_inches()[1] - h) > 1e-6:
            fig.set_size_inches(width, h)
            # a layout made at the drawn size (tight_layout) no longer fits: lay it out again
            if not isinstance(fig.get_layout_engine(), (ConstrainedLayoutEngine, TightLayoutEngine)):
                try:
                    fig.set_layout_engine("constrained")
                except RuntimeError:  # colorbars made under another engine: keep it as it is
                    pass
    folder.mkdir(parents=True, exist_ok=True)
    light = folder / f"{name}.light.png"
    dark = folder / f"{name}.dark.png"
    for palette, path in ((LIGHT, light), (DARK, dark)):
        undo = _restyle(fig, palette)
        fig.savefig(path, dpi=DPI, facecolor=fig.get_facecolor(), bbox_inches="tight",
                    metadata={"Software": None})
        for setter, old in reversed(undo):
            setter(old)
        optimise_png(path)
    if close:
        plt.close(fig)
    return light, dark


def narrow_size(fig, width: float = NARROW) -> tuple[float, float]:
    """The size a figure is drawn at for a phone: ``width`` inches wide, and taller for its
    width than in the column (a phone's screen is tall): the height shrinks as the square
    root of the width."""
    w, h = fig.get_size_inches()
    return width, h * (width / w) ** 0.5


def save_variants(fig, folder: Path, name: str, *, width: float | None = WIDTH,
                  narrow=None) -> list[Path]:
    """Write ``fig`` for the text column (``save_light_dark``) and for a phone's width, as
    ``<name>.narrow.light.png`` and ``<name>.narrow.dark.png``: the same figure laid out again
    at ``NARROW`` inches, so its text stays the size it was drawn at, or, when ``narrow`` is a
    function, the figure it returns (drawn for that width: fewer columns, shorter labels).
    ``narrow=False`` writes no phone-width variant."""
    reuse = narrow is None          # the same figure, laid out again at the phone's width
    paths = list(save_light_dark(fig, folder, name, width=width, close=not reuse))
    if narrow is False:
        return paths
    small = fig if reuse else narrow()
    paths += save_light_dark(small, folder, f"{name}.narrow", width=NARROW,
                             height=narrow_size(small)[1] if reuse else None)
    return paths


def optimise_png(path: Path) -> None:
    """Store an opaque PNG with a palette of at most 256 colours (median cut, no dithering)
    and maximal compression, when that is smaller: a figure's flat colours, anti-aliased
    edges and colour maps lose nothing a reader can see (a root-mean-square change of about
    one level in 255), and the file shrinks by about two thirds. A PNG with transparency is
    only recompressed."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
    if im.mode in ("RGBA", "LA") and im.getextrema()[-1][0] < 255:
        candidate = im                      # transparent somewhere: keep every colour
    else:
        candidate = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.NONE)
    tmp = path.with_suffix(".tmp.png")
    candidate.save(tmp, "PNG", optimize=True)
    if tmp.stat().st_size < path.stat().st_size:
        tmp.replace(path)
    else:
        tmp.unlink()

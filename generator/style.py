"""The journal's figure style: colours of the site's two schemes, the figure width and one
type scale. Plain data (no matplotlib), shared by the run handle, figure saving and the
charts drawn at build time.
"""

from __future__ import annotations

# Colours of mkdocs-material's default (light) and slate (dark) schemes.
LIGHT = {"bg": "#ffffff", "fg": "#212121", "grid": "#e0e0e0"}
DARK = {"bg": "#1e2129", "fg": "#e2e4e9", "grid": "#3a3f4b"}

WIDTH = 6.4  # inches: a figure or chart fills the post's text column at this width
# inches: the same figure drawn again for a phone, whose text column is about 358 CSS px
# wide at 390 px: 9 pt ticks are then 11 px, 10 pt text 12 px (at WIDTH they would be 7 px)
NARROW = 4.0
NARROW_BELOW = 600   # CSS px: screens narrower than this show the phone-width drawing
# One type scale for every chart and figure (points, at WIDTH): readable at the column's
# width on a laptop and on a phone. An experiment can set its own.
TYPE_SCALE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
              "ytick.labelsize": 9, "legend.fontsize": 9, "figure.titlesize": 12,
              "image.cmap": "viridis"}
# What an experiment draws with unless it says otherwise: the type scale, a figure as wide
# as the column, and a layout engine that keeps labels inside when a figure is resized.
RC = {**TYPE_SCALE, "figure.figsize": (WIDTH, 4.0), "figure.constrained_layout.use": True}


def rc_file_text() -> str:
    """``RC`` as a matplotlibrc file, for a process that has not imported matplotlib yet."""
    def value(v):
        return ", ".join(str(x) for x in v) if isinstance(v, tuple) else str(v)

    return "".join(f"{k}: {value(v)}\n" for k, v in RC.items())

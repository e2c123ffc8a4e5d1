"""Figures from experiments: one width and type scale, and dark copies without glaring maps."""

from __future__ import annotations

import json

HEAT = '''
{top}

def heat(run, *, keep: bool = False):
    import matplotlib.pyplot as plt
    from matplotlib import rcParams

    fig, ax = plt.subplots()  # the journal's default size
    run.metrics(height=float(fig.get_size_inches()[1]), ticks=float(rcParams["xtick.labelsize"]))
    ax.imshow([[0.0, 0.0], [0.0, 0.0]], cmap="Blues", extent=(0, 1, 0, 1))
    ax.set_axis_off()
    run.figure("heat", fig)
    small, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    run.figure("small", small, keep_size=keep)
'''


def _png(exp_dir, name):
    import matplotlib.image as mpimg

    return mpimg.imread(exp_dir / "figures" / name)


def _check(journal, module):
    journal.post("week-1", f"h: {{run: {module}.heat}}\nk: {{run: {module}.heat, params: {{keep: true}}}}",
                 "{{ h.height }}\n")
    assert journal.build().ran == 2
    folders = sorted((journal.root / "results" / f"{module}.heat").iterdir())
    metrics = [json.loads((f / "metrics.json").read_text()) for f in folders]
    for m in metrics:  # drawn with the journal's defaults, not matplotlib's 6.4 x 4.8 and 10.5 pt ticks
        assert m["height"] == 4.0 and m["ticks"] == 9.0
    light = _png(folders[0], "heat.light.png")
    dark = _png(folders[0], "heat.dark.png")
    h, w = light.shape[:2]
    assert light[h // 2, w // 2, :3].min() > 0.95       # Blues starts at white...
    assert dark[h // 2, w // 2, :3].max() < 0.45         # ...and the dark copy starts dark
    widths = sorted(_png(f, "small.light.png").shape[1] for f in folders)
    assert widths[0] < 650 < 1000 < widths[1]            # kept as drawn (3 in) vs the journal's 6.4 in


def test_figures_get_the_journals_style_when_matplotlib_is_imported_first(journal):
    journal.write("experiments/early.py", HEAT.format(top="import matplotlib\nmatplotlib.use('Agg')\n"))
    _check(journal, "early")


def test_figures_get_the_journals_style_when_matplotlib_is_imported_late(journal):
    journal.write("experiments/late.py", HEAT.format(top=""))
    _check(journal, "late")


def test_the_dark_copy_recolours_black_lines_in_legends_too():
    import matplotlib.pyplot as plt

    from generator.figures import _restyle
    from generator.style import DARK

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 1], color="black", linestyle="--", label="rule of thumb")
    ax.plot([0, 1], [0, 1], color="C0", label="data")
    legend = ax.legend()
    undo = _restyle(fig, DARK)
    drawn, key = ax.get_lines()[0], legend.get_lines()[0]
    assert drawn.get_color() == key.get_color() == DARK["fg"]   # the line and its legend entry
    assert legend.get_lines()[1].get_color() == "C0"             # colours stay
    for setter, old in reversed(undo):
        setter(old)
    assert key.get_color() == "black"
    plt.close(fig)


VARIANTS = '''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _draw(columns):
    fig, axes = plt.subplots(1, columns, squeeze=False)
    for ax in axes[0]:
        ax.plot([0, 1, 2], [2, 0, 1], label="loss")
        ax.set_xlabel("step")
    return fig


def figs(run):
    run.figure("same", _draw(3))                                   # laid out again for a phone
    run.figure("drawn", _draw(3), narrow=lambda: _draw(1))          # drawn again for a phone
    run.figure("none", _draw(3), narrow=False)
'''


def test_a_figure_is_saved_for_the_column_and_for_a_phone(journal):
    """Every figure gets a phone-width pair, 4 inches wide at 200 dpi, so that its 9 pt
    ticks are 11 CSS px on a 390 px phone (the column's 6.4 inch one would give 7 px)."""
    from PIL import Image

    from generator.style import NARROW, WIDTH

    journal.write("experiments/variants.py", VARIANTS)
    journal.post("week-1", "v: {run: variants.figs}", "{{ figure v.same }}\n\n{{ figure v.drawn }}\n\n"
                 "{{ figure v.none }}\n")
    journal.build()
    (folder,) = (journal.root / "results" / "variants.figs").iterdir()
    names = sorted(p.name for p in (folder / "figures").iterdir())
    assert names == sorted([f"{n}.{v}.png" for n in ("same", "drawn") for v in
                            ("light", "dark", "narrow.light", "narrow.dark")] + ["none.dark.png", "none.light.png"])
    for name in ("same", "drawn"):
        wide = Image.open(folder / "figures" / f"{name}.light.png")
        narrow = Image.open(folder / "figures" / f"{name}.narrow.light.png")
        assert abs(wide.width - WIDTH * 200) < 0.1 * WIDTH * 200, wide.size   # tight bbox: near its width
        assert abs(narrow.width - NARROW * 200) < 0.1 * NARROW * 200, narrow.size
        assert wide.mode == narrow.mode == "P"                        # stored with a palette
    # the page shows the phone's drawing on a phone: both are in the page, the stylesheet picks
    page = (journal.root / "docs/blog/posts/week-1.md").read_text()
    assert page.count(".narrow.light.png#only-light") == 2 and page.count(".narrow.dark.png#only-dark") == 2
    assert "none.narrow" not in page
    for base in ("same", "drawn"):
        assert (journal.root / "docs/blog/posts/assets").glob(f"v-*-{base}.narrow.dark.png")


def test_pngs_are_stored_with_a_palette_that_changes_nothing_visible(tmp_path):
    """A dense figure (a colour map and anti-aliased text) keeps almost every pixel within a
    few levels of 255 and about one on average, and shrinks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image, ImageChops, ImageStat

    from generator.figures import optimise_png

    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.imshow(np.add.outer(np.arange(60), np.arange(60)) % 37, cmap="viridis")
    for i in range(0, 60, 6):
        ax.text(i, i, f"{i * 37}", fontsize=7, color="white")
    ax.plot(np.linspace(0, 59, 200), 30 + 20 * np.sin(np.linspace(0, 12, 200)), color="C1")
    path = tmp_path / "f.png"
    fig.savefig(path, dpi=200)
    plt.close(fig)
    before = Image.open(path).convert("RGB")
    size = path.stat().st_size
    optimise_png(path)
    after = Image.open(path)
    assert after.mode == "P" and path.stat().st_size < 0.6 * size
    diff = ImageChops.difference(before, after.convert("RGB"))
    assert sum(ImageStat.Stat(diff).rms) / 3 < 1.5
    assert (np.asarray(diff).max(axis=2) > 16).mean() < 0.005   # the odd anti-aliased edge pixel


def test_a_heatmaps_cell_labels_read_on_their_cells_in_both_palettes():
    """Week 1's bigram counts: labels on a blue scale take the ink that stands out from their
    cell, light on the busiest cells and dark on the empty ones, and the other way round in
    the dark copy, whose colour map is reversed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from generator.figures import _contrast, _restyle
    from generator.style import DARK, LIGHT

    fig, ax = plt.subplots()
    image = ax.imshow([[0, 100], [50, 4000]], cmap="Blues")
    labels = {(i, j): ax.text(j, i, "ab\n12", color="gray") for i in range(2) for j in range(2)}
    for palette in (LIGHT, DARK):
        undo = _restyle(fig, palette)
        for (i, j), text in labels.items():
            cell = image.cmap(image.norm(image.get_array()[i, j]))
            assert _contrast(to_rgba(text.get_color()), cell) >= 4.5, (palette, i, j, text.get_color())
        empty, busiest = labels[0, 0].get_color(), labels[1, 1].get_color()
        assert (empty, busiest) == ((LIGHT["fg"], "#ffffff") if palette is LIGHT else ("#ffffff", LIGHT["fg"]))
        for setter, old in reversed(undo):
            setter(old)
    assert labels[0, 0].get_color() == "gray"
    plt.close(fig)

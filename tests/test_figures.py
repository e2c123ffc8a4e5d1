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

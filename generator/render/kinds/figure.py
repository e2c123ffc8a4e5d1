"""``{{ figure moons.boundary "A caption" }}``: a figure the experiment saved."""

from __future__ import annotations

from generator.render.kinds.base import Saved


class Figure(Saved):
    what = "figure"
    noun = "figure"
    word = "figure"
    example = '{{ figure moons.boundary "Decision boundary" }}'
    captioned = True

    def saved(self, res):
        return res.figures

    def show(self, ref, page, exp, run, res, name):
        base = page.figure_files(exp, run, res, name)
        return page.figure(base, ref.caption or f"{exp}: {name}", ref.caption)

"""``{{ figure moons.boundary "A caption" }}``: a figure the experiment saved."""

from __future__ import annotations

from generator.errors import suggest
from generator.kinds import OneName


class Figure(OneName):
    what = "figure"
    word = "figure"
    example = '{{ figure moons.boundary "Decision boundary" }}'
    captioned = True

    def render(self, ref, page):
        exp, name = ref.exps[0], ref.names[0]
        run, res = page.result(ref, exp)
        if res is None:
            return page.missing(exp, True)
        if name not in res.figures:
            return page.bad(ref, f"{run.function} saved no figure '{name}'{suggest(name, res.figures)} "
                                 f"(it saved: {', '.join(res.figures) or 'none'})")
        base = page.figure_files(exp, run, res, name)
        return page.figure(base, ref.caption or f"{exp}: {name}", ref.caption)

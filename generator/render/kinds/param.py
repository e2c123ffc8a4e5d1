"""``{{ param mlp.steps }}``: a parameter's value, after defaults and overrides."""

from __future__ import annotations

from generator import escape
from generator.errors import suggest
from generator.numbers import fmt_number
from generator.render.kinds.base import OneName


class Param(OneName):
    what = "param"
    word = "param"
    example = "{{ param mlp.steps }}"

    def validate(self, ref, runs):
        run, name = runs[ref.exps[0]], ref.names[0]
        if name not in run.params:
            return [f"{run.function} has no parameter '{name}'{suggest(name, run.params)}"]
        return []

    def render(self, ref, page):
        run = page.run(ref.exps[0])
        value = run.params[ref.names[0]]
        if isinstance(value, list):
            return escape.inline(", ".join(fmt_number(v) for v in value))
        return escape.inline(fmt_number(value))

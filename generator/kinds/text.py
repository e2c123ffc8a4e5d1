"""``{{ text mlp.samples }}``: a text artifact as a code block."""

from __future__ import annotations

from generator import escape
from generator.errors import suggest
from generator.kinds import OneName


class Text(OneName):
    what = "artifact"
    word = "text"
    example = "{{ text mlp.samples }}"

    def render(self, ref, page):
        exp, name = ref.exps[0], ref.names[0]
        run, res = page.result(ref, exp)
        if res is None:
            return page.missing(exp, True)
        if name not in res.artifacts:
            return page.bad(ref, f"{run.function} saved no text artifact '{name}'"
                                 f"{suggest(name, res.artifacts)} (it saved: "
                                 f"{', '.join(res.artifacts) or 'none'})")
        return escape.block(res.artifact_text(name).rstrip("\n"))

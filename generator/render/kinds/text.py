"""``{{ text mlp.samples }}``: a text artifact as a code block."""

from __future__ import annotations

from generator import escape
from generator.render.kinds.base import Saved


class Text(Saved):
    what = "artifact"
    noun = "text artifact"
    word = "text"
    example = "{{ text mlp.samples }}"

    def saved(self, res):
        return res.artifacts

    def show(self, ref, page, exp, run, res, name):
        return escape.block(res.artifact_text(name).rstrip("\n"))

"""``{{ provenance }}``: where this post's numbers come from (added at the end anyway)."""

from __future__ import annotations

from generator.render.kinds.base import Kind
from generator.render.syntax import RefSyntaxError


class Provenance(Kind):
    word = "provenance"
    example = "{{ provenance }}"

    def parse(self, source, args, caption, line):
        if args:
            raise RefSyntaxError(line, "{{ provenance }} takes nothing")
        return {}

    def needs(self, ref):
        return []

    def render(self, ref, page):
        return page.provenance()

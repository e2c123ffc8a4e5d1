"""Finding ``{{ ... }}`` in a post body; each kind in ``generator.render.kinds`` reads its own.

Fenced code, inline code and math are never scanned; ``\\{{`` writes a literal ``{{``.
"""

from __future__ import annotations

import re
import shlex

from generator.render.kinds import KINDS, WORDS
from generator.render.syntax import OPEN, REF, Ref, RefSyntaxError, mask

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")  # at any indent: fences nest in lists and admonitions
_CONTAINER = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:\s|$)|(?:!!!|\?\?\?\+?)\s")  # list item, admonition


def scan(body: str, first_line: int) -> tuple[list[list[Ref] | None], list[RefSyntaxError]]:
    """Per body line, the references on it (None for lines inside code or math).

    Code is never scanned: fences at any indent (inside a list item or an admonition too)
    and indented code blocks (four spaces past the list item or admonition they sit in).
    A ``{{`` must close on its own line."""
    out: list[list[Ref] | None] = []
    errors: list[RefSyntaxError] = []
    fence: str | None = None
    in_math = False
    containers: list[int] = []   # content indents of the open list items and admonitions
    blank = code = True          # the previous line was blank / indented code
    for i, line in enumerate(body.split("\n")):
        lineno = first_line + i
        if fence is None and not in_math:
            expanded = line.expandtabs(4)
            text = expanded.lstrip()
            indent = len(expanded) - len(text)
            if not text:
                blank = True
                out.append([])
                continue
            opens = _CONTAINER.match(text) is not None
            while containers and indent < containers[-1] and (blank or code or opens):
                containers.pop()
            base = containers[-1] if containers else 0
            code = indent >= base + 4 and (blank or code)
            blank = False
            if code:
                out.append(None)
                continue
            if opens:
                containers.append(indent + 4)
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            out.append(None)
            continue
        if m:
            fence = m.group(1)
            out.append(None)
            continue
        stripped = line.strip()
        if in_math or stripped.startswith("$$") or stripped.startswith("\\["):
            opens = stripped.startswith("$$") or stripped.startswith("\\[")
            closes = stripped.endswith("$$") or stripped.endswith("\\]")
            if in_math:
                in_math = not closes
            elif opens and not (closes and len(stripped) > 2):
                in_math = True
            out.append(None)
            continue
        refs = []
        masked = mask(line)
        if OPEN.search(REF.sub(lambda m: " " * len(m.group(0)), masked)):
            errors.append(RefSyntaxError(lineno, "'{{' is not closed on its line: a reference is "
                                                 "written on one line, as {{ mlp.dev_nll }} (write "
                                                 "\\{{ for literal braces)"))
        for m in REF.finditer(masked):
            source = line[m.start(1):m.end(1)].strip()
            block = line[:m.start()].strip() == "" and line[m.end():].strip() == ""
            try:
                refs.append(parse(source, lineno, m.start(), m.end(), block))
            except RefSyntaxError as e:
                errors.append(e)
        out.append(refs)
    return out, errors


def parse(source: str, line: int, start: int = 0, end: int = 0, block: bool = False) -> Ref:
    """One reference; the kind its first word names (see ``generator.render.kinds``) reads the rest."""
    if not source:
        raise RefSyntaxError(line, "empty reference {{ }}")
    word = source.split(None, 1)[0]
    if word not in WORDS:
        fields = KINDS["metric"].parse(source, [], "", line)
        return Ref("metric", line, source, start, end, block=block, **fields)
    kind = KINDS[word]
    try:
        args = shlex.split(source[len(word):], posix=True)
    except ValueError as e:
        raise RefSyntaxError(line, f"cannot read '{{{{ {source} }}}}': {e}") from None
    caption = ""
    if kind.captioned:
        options = re.sub(r"\w=(?:\"[^\"]*\"|'[^']*')", lambda m: " " * len(m.group(0)), source)
        quoted = re.search(r"\"([^\"]*)\"|'([^']*)'", options)   # an option's quoted value is no caption
        if quoted:
            caption = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
            args = [a for a in args if a != caption]
    fields = kind.parse(source, args, caption, line)
    ref = Ref(word, line, source, start, end, block=block, **fields)
    if caption and OPEN.search(caption):   # references inside a caption: metrics and params
        inner = tuple(parse(m.group(1).strip(), line, m.start(), m.end()) for m in REF.finditer(caption))
        if any(r.kind not in ("metric", "param") for r in inner):
            raise RefSyntaxError(line, "a caption may hold metrics and parameters, not "
                                       f"'{next(r.source for r in inner if r.kind not in ('metric', 'param'))}'")
        ref.options["inner"] = inner
    return ref

"""The syntax of references: what ``{{ ... }}`` is made of, shared by every kind.

``Ref`` is one reference as the kinds read it; ``RefSyntaxError`` is what is wrong with one;
``REF`` finds references on a line, ``mask`` blanks a line's inline code and math, and the
patterns ``EXP``, ``METRIC`` and ``DOTTED`` spell experiments and their names. An
experiment of another post is named ``<slug>/<name>``: ``{{ week-1/mlp.dev_nll }}``.
Scanning a body (``generator.render.refs``) and each kind (``generator.render.kinds``)
build on this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

REF = re.compile(r"(?<!\\)\{\{((?:\{\{.*?\}\}|.)*?)\}\}")  # a caption may hold {{ refs }}
OPEN = re.compile(r"(?<!\\)\{\{")
MAX_WIDTH = 100      # a format's width and precision are bounded: {{ a.b:>3000000000 }} is refused
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d*))?[a-zA-Z%]?")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$(?!\d)|\\\(.+?\\\)")
EXP = r"(?:[a-z0-9][a-z0-9-]*/)?[A-Za-z_][A-Za-z0-9_]*"      # an experiment, maybe slug/name
METRIC = re.compile(rf"^({EXP})\.([A-Za-z0-9][A-Za-z0-9_.-]*?)(?::(.+))?$")
DOTTED = re.compile(rf"^({EXP})\.([A-Za-z0-9][A-Za-z0-9_.-]*)$")


@dataclass(frozen=True)
class Ref:
    kind: str                   # a word of generator.render.kinds.KINDS
    line: int                   # line in the post file
    source: str                 # the text between the braces
    start: int                  # offsets in the body line, for substitution
    end: int
    exps: tuple[str, ...] = ()  # experiment names (possibly slug/name)
    names: tuple[str, ...] = () # metric/figure/series/param names, aligned with exps or columns
    fmt: tuple[str | None, ...] = ()
    caption: str = ""
    options: dict = field(default_factory=dict, compare=False, hash=False)
    block: bool = False         # alone on its line


class RefSyntaxError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def mask(line: str) -> str:
    """The line with inline code and math blanked out (same length)."""
    for pattern in (_INLINE_CODE, _INLINE_MATH):
        line = pattern.sub(lambda m: " " * len(m.group(0)), line)
    return line


def check_format(fmt: str | None, line: int) -> None:
    if fmt is None:
        return
    spec = _SPEC.fullmatch(fmt)
    sizes = [spec[g] for g in ("width", "precision") if spec and spec[g]]
    if any(len(n) > 3 or int(n) > MAX_WIDTH for n in sizes):  # before format() allocates them
        raise RefSyntaxError(line, f"'{fmt}': width and precision are at most {MAX_WIDTH}")
    try:
        format(1.5, fmt)
    except ValueError:
        raise RefSyntaxError(line, f"'{fmt}' is not a number format (try .3f, .1%, ',' or .2e)") from None

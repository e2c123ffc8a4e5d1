"""The reference vocabulary of a post body: finding and parsing ``{{ ... }}``.

    {{ mlp.dev_nll }}                  a metric, default format
    {{ mlp.dev_nll:.3f }}              a metric, Python format spec
    {{ param mlp.steps }}              a parameter's value
    {{ figure moons.boundary "A caption" }}
    {{ table mlp fourgram : train_nll dev_nll:.3f }}
    {{ chart mlp.train_loss mlp.dev_loss baseline=fourgram.dev_nll logy "A caption" }}
    {{ text mlp.samples }}             a text artifact as a code block
    {{ provenance }}                   the provenance box (also added at the end)

An experiment of another post is named ``<slug>/<name>``: ``{{ week-1/mlp.dev_nll }}``.
Fenced code, inline code and math are never scanned; ``\\{{`` writes a literal ``{{``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_REF = re.compile(r"(?<!\\)\{\{(.*?)\}\}")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$(?!\d)|\\\(.+?\\\)")
_EXP = r"(?:[a-z0-9][a-z0-9-]*/)?[A-Za-z_][A-Za-z0-9_]*"
_METRIC = re.compile(rf"^({_EXP})\.([A-Za-z0-9][A-Za-z0-9_.-]*?)(?::(.+))?$")
_DOTTED = re.compile(rf"^({_EXP})\.([A-Za-z0-9][A-Za-z0-9_.-]*)$")
KINDS = ("param", "figure", "table", "chart", "text", "provenance")


@dataclass(frozen=True)
class Ref:
    kind: str                   # metric, param, figure, table, chart, text, provenance
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


def _masked(line: str) -> str:
    """The line with inline code and math blanked out (same length)."""
    for pattern in (_INLINE_CODE, _INLINE_MATH):
        line = pattern.sub(lambda m: " " * len(m.group(0)), line)
    return line


def scan(body: str, first_line: int) -> tuple[list[list[Ref] | None], list[RefSyntaxError]]:
    """Per body line, the references on it (None for lines inside code or math)."""
    out: list[list[Ref] | None] = []
    errors: list[RefSyntaxError] = []
    fence: str | None = None
    in_math = False
    for i, line in enumerate(body.split("\n")):
        lineno = first_line + i
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
        masked = _masked(line)
        for m in _REF.finditer(masked):
            source = line[m.start(1):m.end(1)].strip()
            block = line[:m.start()].strip() == "" and line[m.end():].strip() == ""
            try:
                refs.append(parse(source, lineno, m.start(), m.end(), block))
            except RefSyntaxError as e:
                errors.append(e)
        out.append(refs)
    return out, errors


def parse(source: str, line: int, start: int = 0, end: int = 0, block: bool = False) -> Ref:
    if not source:
        raise RefSyntaxError(line, "empty reference {{ }}")
    word = source.split(None, 1)[0]
    if word not in KINDS:
        m = _METRIC.match(source)
        if not m or " " in source.split(":", 1)[0]:
            raise RefSyntaxError(line, f"cannot read '{{{{ {source} }}}}': expected a metric such as "
                                       f"{{{{ mlp.dev_nll:.3f }}}} or one of: {', '.join(KINDS)}")
        fmt = m.group(3).strip() if m.group(3) else None
        _check_format(fmt, line)
        return Ref("metric", line, source, start, end, (m.group(1),), (m.group(2),), (fmt,),
                   block=block)
    try:
        args = shlex.split(source[len(word):], posix=True)
    except ValueError as e:
        raise RefSyntaxError(line, f"cannot read '{{{{ {source} }}}}': {e}") from None
    caption = ""
    if word in ("figure", "chart", "table"):
        quoted = re.search(r"\"([^\"]*)\"|'([^']*)'", source)
        if quoted:
            caption = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
            args = [a for a in args if a != caption]
    if word == "provenance":
        if args:
            raise RefSyntaxError(line, "{{ provenance }} takes nothing")
        return Ref("provenance", line, source, start, end, block=block)
    if word in ("param", "figure", "text"):
        if len(args) != 1 or not _DOTTED.match(args[0]):
            example = {"param": "{{ param mlp.steps }}", "figure": '{{ figure moons.boundary "Caption" }}',
                       "text": "{{ text mlp.samples }}"}[word]
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': expected {example}")
        m = _DOTTED.match(args[0])
        return Ref(word, line, source, start, end, (m.group(1),), (m.group(2),), caption=caption,
                   block=block)
    if word == "table":
        if ":" not in args:
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': expected "
                                       "{{ table exp1 exp2 : metric1 metric2:.3f }}")
        i = args.index(":")
        exps, cols = args[:i], args[i + 1:]
        if not exps or not cols:
            raise RefSyntaxError(line, "a table needs experiments before ':' and metrics after it")
        names, fmts = [], []
        for c in cols:
            n, _, f = c.partition(":")
            _check_format(f or None, line)
            names.append(n)
            fmts.append(f or None)
        for e in exps:
            if not re.fullmatch(_EXP, e):
                raise RefSyntaxError(line, f"'{e}' is not an experiment name")
        return Ref("table", line, source, start, end, tuple(exps), tuple(names), tuple(fmts),
                   caption=caption, block=block)
    # chart
    series, options = [], {}
    for a in args:
        if "=" in a:
            k, _, v = a.partition("=")
            if k != "baseline" or not _DOTTED.match(v):
                raise RefSyntaxError(line, f"chart option '{a}': expected baseline=exp.metric")
            options[k] = _DOTTED.match(v).groups()
        elif a in ("logy", "logx"):
            options[a] = True
        elif _DOTTED.match(a):
            series.append(_DOTTED.match(a).groups())
        else:
            raise RefSyntaxError(line, f"chart: cannot read '{a}' (expected exp.series, "
                                       "baseline=exp.metric, logy or a \"caption\")")
    if not series:
        raise RefSyntaxError(line, "a chart needs at least one series, e.g. {{ chart mlp.train_loss }}")
    return Ref("chart", line, source, start, end, tuple(e for e, _ in series),
               tuple(n for _, n in series), caption=caption, options=options, block=block)


def _check_format(fmt: str | None, line: int) -> None:
    if fmt is None:
        return
    try:
        format(1.5, fmt)
    except ValueError:
        raise RefSyntaxError(line, f"'{fmt}' is not a number format (try .3f, .1%, ',' or .2e)") from None

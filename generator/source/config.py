"""The journal's settings: the ``[tool.journal]`` table of its ``pyproject.toml``.

Every key is optional; a journal without the table (or without a pyproject.toml)
gets the defaults. Command-line options override what the table says.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator.errors import InputError, Problem

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

FILE = "pyproject.toml"


def table(root: Path) -> dict[str, Any]:
    """``[tool.journal]`` as a dict (empty when absent); a clear error when the file is not TOML."""
    path = root / FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        line = re.search(r"line (\d+)", str(e))
        raise InputError(Problem(FILE, int(line.group(1)) if line else None, None,
                                 f"not valid TOML: {e}")) from None
    tool = data.get("tool", {}).get("journal", {})
    if not isinstance(tool, dict):
        raise InputError(Problem(FILE, _line(path, "journal"), "tool.journal", "expected a table"))
    return tool


def choice(root: Path, key: str, options: tuple[str, ...], default: str,
           override: str | None = None) -> str:
    """A setting that must be one of ``options``: the override, else the table's, else the default."""
    if override is not None:
        if override not in options:
            raise InputError(Problem("command line", None, f"--{key}",
                                     f"expected one of {', '.join(options)}, got {override!r}"))
        return override
    value = table(root).get(key, default)
    if value not in options:
        raise InputError(Problem(FILE, _line(root / FILE, key), f"tool.journal.{key}",
                                 f"expected one of {', '.join(options)}, got {value!r}"))
    return value


def line(root: Path, key: str) -> int | None:
    """The line of ``key`` in the journal's [tool.journal] table, if it is there."""
    return _line(root / FILE, key) if (root / FILE).is_file() else None


def _line(path: Path, key: str) -> int | None:
    """The line of ``key = ...`` in the [tool.journal] table, for error messages."""
    inside = False
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = text.strip()
        if stripped.startswith("["):
            inside = stripped.replace(" ", "").startswith("[tool.journal")
            if (key == "journal" and inside) or stripped.replace(" ", "") == f"[tool.journal.{key}]":
                return number
        elif inside and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return None


def text(root: Path, key: str, what: str, override: str | None = None) -> str | None:
    """A free-text setting (``what`` describes it for errors): the override, else the table's."""
    if override is not None:
        if not override.strip():
            raise InputError(Problem("command line", None, f"--{key}", f"expected {what}, got ''"))
        return override
    value = table(root).get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InputError(Problem(FILE, _line(root / FILE, key), f"tool.journal.{key}",
                                 f"expected {what}, got {value!r}"))
    return value


BETTER = ("lower", "higher", "neither")


def headlines(root: Path) -> dict[str, dict[str, str]]:
    """``[tool.journal.headlines]``: each tracked quantity (a metric name such as ``dev_nll``)
    declared once, with the ``label`` its Progress panel has and which way it is ``better``
    (lower, higher or neither). A clear error for anything else."""
    declared = table(root).get("headlines", {})
    where = root / FILE
    if not isinstance(declared, dict):
        raise InputError(Problem(FILE, _line(where, "headlines"), "tool.journal.headlines",
                                 "expected a table such as [tool.journal.headlines] with "
                                 "dev_nll = { label = \"dev NLL\", better = \"lower\" }"))
    out = {}
    for name, spec in declared.items():
        key = f"tool.journal.headlines.{name}"
        line = _line(where, name)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise InputError(Problem(FILE, line, key, "expected a metric's name (such as dev_nll)"))
        if not isinstance(spec, dict) or not set(spec) <= {"label", "better"}:
            raise InputError(Problem(FILE, line, key,
                                     f"expected {{ label = \"...\", better = \"lower\" }} (label and "
                                     f"better only), got {spec!r}"))
        label, better = spec.get("label"), spec.get("better")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise InputError(Problem(FILE, line, f"{key}.label", f"expected words, got {label!r}"))
        if better is not None and better not in BETTER:
            raise InputError(Problem(FILE, line, f"{key}.better",
                                     f"expected one of {', '.join(BETTER)}, got {better!r}"))
        out[name] = {k: v.strip() for k, v in spec.items()}
    return out

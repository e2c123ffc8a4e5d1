"""The journal's configuration, read once per command: ``[tool.journal]`` in ``pyproject.toml``
and the site's ``mkdocs.yml``.

Every ``[tool.journal]`` key is optional; a journal without the table (or without a
pyproject.toml) gets the defaults. Every value is checked when the file is read, and
each problem names ``pyproject.toml:LINE`` and the key. Command-line options override
what the table says (:meth:`Config.with_options`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from generator.errors import InputError, Problem

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

FILE = "pyproject.toml"
SITE_FILE = "mkdocs.yml"
ENGINES = ("material", "zensical")   # the site engines (generator.site)
BACKENDS = ("local", "ray")          # where experiments run (generator.run.backends)
BETTER = ("lower", "higher", "neither")
ADDRESS = "a Ray address: auto, HOST:PORT or ray://HOST:10001"
KEYS = ("engine", "backend", "address", "headlines")


@dataclass(frozen=True)
class Config:
    """What the journal's configuration files say, checked."""

    root: Path
    engine: str = "material"
    backend: str = "local"
    address: str | None = None
    # tracked quantities: metric name -> {"label": ..., "better": lower|higher|neither}
    headlines: dict[str, dict[str, str]] = field(default_factory=dict)
    overridden: frozenset[str] = frozenset()   # settings the command line gave

    @classmethod
    def read(cls, root: Path) -> Config:
        """Read and check ``[tool.journal]``; InputError naming every problem."""
        root = Path(root)
        table = _table(root)
        problems: list[Problem] = []
        where = root / FILE

        def bad(key: str, message: str, line_key: str | None = None) -> None:
            problems.append(Problem(FILE, _line(where, line_key or key.rpartition(".")[2]),
                                    f"tool.journal.{key}", message))

        for key in table:
            if key not in KEYS:
                from generator.errors import suggest

                bad(key, f"unknown setting{suggest(key, KEYS)}; [tool.journal] takes "
                         f"{', '.join(KEYS)}")
        values: dict[str, Any] = {}
        for key, options in (("engine", ENGINES), ("backend", BACKENDS)):
            if key in table:
                if table[key] not in options:
                    bad(key, f"expected one of {', '.join(options)}, got {table[key]!r}")
                else:
                    values[key] = table[key]
        if "address" in table:
            value = table["address"]
            if not isinstance(value, str) or not value.strip():
                bad("address", f"expected {ADDRESS}, got {value!r}")
            else:
                values["address"] = value
        values["headlines"] = _headlines(table.get("headlines", {}), where, problems)
        if problems:
            raise InputError(problems)
        return cls(root, **values)

    def with_options(self, *, engine: str | None = None, backend: str | None = None,
                     address: str | None = None) -> Config:
        """The configuration with the command line's choices over it."""
        changes: dict[str, Any] = {}
        for key, value, options in (("engine", engine, ENGINES), ("backend", backend, BACKENDS)):
            if value is not None:
                if value not in options:
                    raise InputError(Problem("command line", None, f"--{key}",
                                             f"expected one of {', '.join(options)}, got {value!r}"))
                changes[key] = value
        if address is not None:
            if not address.strip():
                raise InputError(Problem("command line", None, "--address", f"expected {ADDRESS}, got ''"))
            changes["address"] = address
        return replace(self, **changes, overridden=self.overridden | frozenset(changes))

    def line(self, key: str) -> int | None:
        """The line of ``key`` in the journal's [tool.journal] table, if it is there."""
        path = self.root / FILE
        return _line(path, key) if path.is_file() else None

    def where(self, key: str) -> Problem:
        """Where a setting was given, for an error about it: the command line or the file."""
        if key in self.overridden:
            return Problem("command line", None, f"--{key}", "")
        return Problem(FILE, self.line(key), f"tool.journal.{key}", "")

    @cached_property
    def site(self) -> dict:
        """mkdocs.yml as plain data (read when first asked for)."""
        return site_settings(self.root)


def _table(root: Path) -> dict[str, Any]:
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


def _line(path: Path, key: str) -> int | None:
    """The line of ``key = ...`` in the [tool.journal] table, for error messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.replace(" ", "").startswith("[tool.journal")
            if (key == "journal" and inside) or stripped.replace(" ", "") == f"[tool.journal.{key}]":
                return number
        elif inside and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return None


def _headlines(declared: Any, where: Path, problems: list[Problem]) -> dict[str, dict[str, str]]:
    """``[tool.journal.headlines]``: each tracked quantity (a metric name such as ``dev_nll``)
    declared once, with the ``label`` its Progress panel has and which way it is ``better``."""
    if not isinstance(declared, dict):
        problems.append(Problem(FILE, _line(where, "headlines"), "tool.journal.headlines",
                                "expected a table such as [tool.journal.headlines] with "
                                "dev_nll = { label = \"dev NLL\", better = \"lower\" }"))
        return {}
    out = {}
    for name, spec in declared.items():
        key = f"tool.journal.headlines.{name}"
        line = _line(where, name)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problems.append(Problem(FILE, line, key, "expected a metric's name (such as dev_nll)"))
            continue
        if not isinstance(spec, dict) or not set(spec) <= {"label", "better"}:
            problems.append(Problem(FILE, line, key, f"expected {{ label = \"...\", better = \"lower\" }} "
                                                     f"(label and better only), got {spec!r}"))
            continue
        label, better = spec.get("label"), spec.get("better")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            problems.append(Problem(FILE, line, f"{key}.label", f"expected words, got {label!r}"))
            continue
        if better is not None and better not in BETTER:
            problems.append(Problem(FILE, line, f"{key}.better",
                                    f"expected one of {', '.join(BETTER)}, got {better!r}"))
            continue
        out[name] = {k: v.strip() for k, v in spec.items()}
    return out


def site_settings(root: Path) -> dict:
    """mkdocs.yml as plain data (tags such as ``!!python/name`` read as None)."""
    import yaml

    class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):   # libyaml when present
        pass

    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    path = root / SITE_FILE
    if not path.is_file():
        raise InputError(Problem(SITE_FILE, None, None, "not found: the journal's site is configured "
                                                        "in mkdocs.yml (`journal init .` adds one)"))
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as e:
        raise InputError(Problem(SITE_FILE, None, None, f"invalid YAML: {e}")) from None
    return data if isinstance(data, dict) else {}

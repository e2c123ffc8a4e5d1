"""The experiment environment's lock: ``experiments.lock`` at the journal's root.

A result's key includes the version of every third-party package its code imports. With
a lock, those versions are read from it instead of from what is installed, so a frozen
build (which runs nothing) needs none of the training stack installed: publishing a
journal does not install PyTorch. Where experiments do run, the installed versions must
be the locked ones, or the build stops before running anything and says which differ;
`journal lock` writes the lock from what is installed.

The format is pip's (``pip install -r experiments.lock`` recreates the environment)::

    torch==2.13.0
    numpy==2.4.6
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path

LOCK_FILE = "experiments.lock"
_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def normal(name: str) -> str:
    """PEP 503: ``Foo_Bar`` and ``foo-bar`` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(root: Path) -> dict[str, str] | None:
    """{normalised distribution name: version}, or None when the journal has no lock."""
    path = root / LOCK_FILE
    try:
        st = path.stat()
    except OSError:
        return None
    return _read(path, st.st_mtime_ns, st.st_size)


@cache
def _read(path: Path, mtime_ns: int, size: int) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LINE.match(line)
        if m:
            out[normal(m.group(1))] = m.group(2)
    return out


def locked_version(root: Path, top: str, installed_dists: list[str] | None) -> str | None:
    """``dist==version`` for module ``top`` from the lock, or None if the lock does not name it.

    The distribution is the installed one that provides ``top`` when there is one, else a
    distribution named like the module (torch, numpy, names, matplotlib)."""
    lock = read_lock(root)
    if not lock:
        return None
    dists = installed_dists or [top]
    if not all(normal(d) in lock for d in dists):
        return None
    return "+".join(f"{d}=={lock[normal(d)]}" for d in sorted(set(dists)))


def write_lock(root: Path, versions: dict[str, str]) -> Path:
    """Write ``experiments.lock`` from {distribution: version}."""
    path = root / LOCK_FILE
    lines = ["# The experiment environment (see docs/reference.md, \"What a result's key covers\").",
             "# Keys use these versions; `journal lock` rewrites this file from what is installed."]
    lines += [f"{d}=={v}" for d, v in sorted(versions.items(), key=lambda kv: normal(kv[0]))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def third_party(root: Path) -> set[str]:
    """Top-level third-party modules that any module of the experiments package imports."""
    from generator.source.code import PACKAGE, parse

    out: set[str] = set()
    import ast

    for path in sorted((root / PACKAGE).rglob("*.py")):
        try:
            tree = parse(path)
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            for n in names:
                top = n.split(".")[0]
                if top and top != PACKAGE and top != "generator" and top not in sys.stdlib_module_names:
                    out.add(top)
    return out

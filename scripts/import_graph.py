"""The import graph of ``generator/``: modules, layers, imports, imports that point up a layer,
cycles, and private names used across modules.

    python scripts/import_graph.py            # the summary
    python scripts/import_graph.py --list     # every import, with its layers

Every ``import`` and ``from ... import`` inside ``generator/`` is read from the syntax tree,
at module level and inside functions alike (a lazy import still ties two modules);
imports under ``if TYPE_CHECKING:`` run for no one and are left out. A module's layer is
the first entry of ``LAYERS`` whose prefix names it; ``tests/test_architecture.py`` holds
the package to these rules: no cycles, no import from a lower layer to a higher one, no
private name (``_x``) of one module used by another.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "generator"

# The pipeline's stages, lowest first: a module may import its own layer and those below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground", ("generator.errors", "generator.console", "generator.numbers", "generator.escape",
                "generator.hashing", "generator.git", "generator.params", "generator.style")),
    # what experiments use: the package's face (generator.current_run), the run handle,
    # figure saving and the handle bound in a run's process
    ("experiment api", ("generator", "generator.handle", "generator.figures", "generator.current",
                        "generator.checkpoints")),
    ("source", ("generator.source",)),
    ("store", ("generator.store",)),
    ("plan", ("generator.plan",)),
    ("run", ("generator.run",)),
    ("site", ("generator.site",)),
    ("context", ("generator.context",)),
    ("render", ("generator.render",)),
    ("incremental", ("generator.incremental",)),
    ("commands", ("generator.commands", "generator.templates")),
    ("cli", ("generator.cli", "generator.__main__")),
)
# Layers that do not see each other: running experiments and building the site.
SIDE_BY_SIDE = {("run", "site"), ("site", "run")}


@dataclass(frozen=True)
class Import:
    source: str          # the importing module
    target: str          # the imported module
    names: tuple[str, ...]
    line: int


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "templates" not in p.parts}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([name] if name else []))


def imports(known: dict[str, Path]) -> list[Import]:
    """Every import of one generator module by another (what it names, where)."""
    out: list[Import] = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)
                for child in node.body for n in ast.walk(child)}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "generator":
                        out.append(Import(name, _known(alias.name, known), (), node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = (_resolve(name, path.name == "__init__.py", node.level, node.module)
                        if node.level else node.module or "")
                if base.split(".")[0] != "generator":
                    continue
                plain = []
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in known:   # `from generator.render import kinds`: the module itself
                        out.append(Import(name, sub, (), node.lineno))
                    else:
                        plain.append(alias.name)
                if plain:
                    out.append(Import(name, _known(base, known), tuple(plain), node.lineno))
    return [i for i in out if i.target != i.source]


def _known(module: str, known: dict[str, Path]) -> str:
    while module not in known and "." in module:
        module = module.rpartition(".")[0]
    return module


def layer(module: str) -> int:
    """The layer of ``module``: the longest entry of LAYERS that is it or a package above it
    (``generator`` itself names the package's face alone)."""
    best, found = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            inside = module.startswith(p + ".") and p != "generator"
            if (module == p or inside) and len(p) > best:
                best, found = len(p), i
    if found is None:
        raise KeyError(f"{module} is in no layer of scripts/import_graph.py's LAYERS")
    return found


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(edges: list[Import]) -> list[Import]:
    """Imports from a lower layer to a higher one, or between layers that must not meet."""
    out = []
    for e in edges:
        a, b = layer(e.source), layer(e.target)
        if b > a or (LAYERS[a][0], LAYERS[b][0]) in SIDE_BY_SIDE:
            out.append(e)
    return out


def private(edges: list[Import]) -> list[Import]:
    """Imports of a name that starts with one underscore from another module."""
    return [e for e in edges if any(n.startswith("_") and not n.startswith("__") for n in e.names)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="list every import with its layers")
    args = ap.parse_args()
    known = modules()
    edges = imports(known)
    pairs = {(e.source, e.target) for e in edges}
    up, loops, hidden = upward(edges), cycles(edges), private(edges)
    print(f"modules: {len(known)}, layers: {len(LAYERS)}, imports (module pairs): {len(pairs)}")
    print(f"imports that point up a layer: {len(up)}")
    for e in up:
        print(f"  {e.source} ({LAYERS[layer(e.source)][0]}) -> {e.target} "
              f"({LAYERS[layer(e.target)][0]}), line {e.line}")
    print(f"cycles: {len(loops)}")
    for loop in loops:
        print("  " + " <-> ".join(loop))
    print(f"private names used across modules: {len(hidden)}")
    for e in hidden:
        print(f"  {e.source} takes {', '.join(e.names)} from {e.target} (line {e.line})")
    if args.list:
        for e in sorted(edges, key=lambda e: (e.source, e.target)):
            print(f"{e.source} [{LAYERS[layer(e.source)][0]}] -> {e.target} "
                  f"[{LAYERS[layer(e.target)][0]}] {', '.join(e.names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Static facts about the experiments package, read from source with ``ast``.

The journal never imports the author's code in the build process: finding a
function, its parameters and the modules it depends on is done on the syntax
tree, so a warm rebuild does not pay for importing torch, and a post cannot make
the build process execute anything.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE = "experiments"
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Param:
    name: str
    annotation: str | None      # source text, e.g. "int", "list[int]"
    default: Any = _NO_DEFAULT  # a literal, or _NO_DEFAULT when required

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass(frozen=True)
class Function:
    ref: str                 # "makemore.mlp" as written in front matter
    module: str              # "experiments.makemore.neural": where it is defined
    file: Path               # that module's file
    params: tuple[Param, ...]
    doc: str | None
    notebook: bool = False   # a notebook experiment: ``ref`` is its path, ``module`` is empty


class CodeError(Exception):
    """A run: reference that does not name a usable function."""


@cache
def _parse(path: Path, mtime_ns: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def parse(path: Path) -> ast.Module:
    return _parse(path, path.stat().st_mtime_ns)


def module_file(root: Path, module: str) -> Path | None:
    """``experiments.a.b`` -> experiments/a/b.py or experiments/a/b/__init__.py."""
    parts = module.split(".")
    base = root.joinpath(*parts)
    if (base.with_suffix(".py")).is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve_relative(module: str, path: Path, level: int, name: str | None) -> str:
    package = module if _is_package(path) else module.rpartition(".")[0]
    parts = package.split(".")
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    return f"{base}.{name}" if name else base


def find_function(root: Path, ref: str) -> Function:
    """Resolve ``module.function`` inside the experiments package, following re-exports."""
    mod, _, func = ref.rpartition(".")
    if not mod or not all(p.isidentifier() and not p.startswith("__") for p in ref.split(".")):
        raise CodeError(f"'{ref}' is not of the form module.function (names inside the "
                        f"{PACKAGE} package, e.g. makemore.mlp)")
    return _find(root, f"{PACKAGE}.{mod}", func, ref, depth=0)


def _find(root: Path, module: str, func: str, ref: str, depth: int) -> Function:
    path = module_file(root, module)
    if path is None:
        shown = module.replace(".", "/")
        raise CodeError(f"'{ref}' is not in the {PACKAGE} package: neither {shown}.py nor "
                        f"{shown}/__init__.py exists")
    if depth > 8:
        raise CodeError(f"'{ref}': re-exports nest too deeply")
    tree = parse(path)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func:
            if isinstance(node, ast.AsyncFunctionDef):
                raise CodeError(f"'{ref}' is an async function; experiments are plain functions")
            return Function(ref, module, path, _params(node, ref), ast.get_docstring(node))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == func:
                    target = (_resolve_relative(module, path, node.level, node.module)
                              if node.level else node.module or "")
                    if not target.startswith(PACKAGE + ".") and target != PACKAGE:
                        raise CodeError(f"'{ref}' is imported from '{target}', outside the "
                                        f"{PACKAGE} package")
                    return _find(root, target, alias.name, ref, depth + 1)
    shown = path.relative_to(root).as_posix()
    defined = sorted(n.name for n in tree.body if isinstance(n, ast.FunctionDef)
                     and not n.name.startswith("_"))
    hint = f" (functions there: {', '.join(defined)})" if defined else ""
    raise CodeError(f"'{ref}': no function '{func}' in {shown}{hint}")


def _params(node: ast.FunctionDef, ref: str) -> tuple[Param, ...]:
    a = node.args
    positional = a.posonlyargs + a.args
    if not positional:
        raise CodeError(f"'{ref}' must take the run handle as its first argument: "
                        f"def {node.name}(run, *, ...)")
    if a.vararg or a.kwarg:
        raise CodeError(f"'{ref}' takes *args or **kwargs; declare each parameter by name "
                        "so front matter can be checked")
    out = []
    rest = positional[1:]
    defaults = [_NO_DEFAULT] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for arg, default in zip(rest, defaults[1:]):
        out.append(_param(arg, default, ref))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append(_param(arg, _NO_DEFAULT if default is None else default, ref))
    return tuple(out)


def _param(arg: ast.arg, default, ref: str) -> Param:
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else None
    if default is _NO_DEFAULT:
        return Param(arg.arg, ann)
    try:
        value = ast.literal_eval(default)
    except ValueError:
        raise CodeError(f"'{ref}': the default of '{arg.arg}' must be a literal "
                        f"(number, string, bool, None, list), not {ast.unparse(default)}") from None
    if isinstance(value, tuple):
        value = list(value)
    return Param(arg.arg, ann, value)


# -- dependencies: what a result's key hashes ---------------------------------

@dataclass(frozen=True)
class Closure:
    files: tuple[str, ...]     # project-relative paths of local modules, sorted
    packages: tuple[str, ...]  # top-level third-party module names, sorted
    unfollowed: tuple[str, ...] = ()  # dynamic imports whose target is not a literal


def closure(root: Path, module: str, *, legacy: bool = False) -> Closure:
    """Every local module that runs when ``module`` is imported, and the third-party ones used.

    That is: the modules it imports, transitively; the ``__init__.py`` of every package
    on each of their paths (importing ``a.b.c`` runs ``a/__init__.py`` and
    ``a/b/__init__.py``) and what those import; and modules named by a literal string in
    ``importlib.import_module(...)`` or ``__import__(...)``. A dynamic import whose name
    is computed is listed in ``unfollowed``. ``legacy`` walks as key format 1 did
    (static imports only, no package ``__init__`` files), to re-key old results.
    """
    files: set[str] = set()
    third: set[str] = set()
    unfollowed: set[str] = set()
    todo = [module]
    seen: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        if not legacy:
            parts = mod.split(".")
            todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        path = module_file(root, mod)
        if path is None:
            continue
        files.add(path.relative_to(root).as_posix())
        found = _imports(root, mod, path)
        deps = found.static if legacy else found.static + found.dynamic
        if not legacy:
            unfollowed.update(found.unfollowed)
        for dep in deps:
            if dep == PACKAGE or dep.startswith(PACKAGE + "."):
                todo.append(dep)
            else:
                top = dep.split(".")[0]
                if top and top not in sys.stdlib_module_names and top != "generator":
                    third.add(top)
    return Closure(tuple(sorted(files)), tuple(sorted(third)), tuple(sorted(unfollowed)))


@dataclass(frozen=True)
class _Imports:
    static: list[str]       # import statements
    dynamic: list[str]      # importlib.import_module("literal") / __import__("literal")
    unfollowed: list[str]   # "experiments/x.py:12 importlib.import_module(name)"


def _imports(root: Path, module: str, path: Path) -> _Imports:
    return _imports_cached(root, module, path, path.stat().st_mtime_ns)


_DYNAMIC = {"import_module", "__import__"}


@cache
def _imports_cached(root: Path, module: str, path: Path, mtime_ns: int) -> _Imports:
    static: list[str] = []
    dynamic: list[str] = []
    unfollowed: list[str] = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            static.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve_relative(module, path, node.level, node.module)
                    if node.level else node.module or "")
            subs = [f"{base}.{a.name}" for a in node.names
                    if base.startswith(PACKAGE) and module_file(root, f"{base}.{a.name}")]
            static.extend(subs)  # `from . import data` imports the submodule data
            if len(subs) < len(node.names):
                static.append(base)
        elif isinstance(node, ast.Call) and _call_name(node.func) in _DYNAMIC:
            target = _literal_import(node, module, path)
            if target is None:
                where = f"{path.relative_to(root).as_posix()}:{node.lineno}"
                unfollowed.append(f"{where} {ast.unparse(node)}")
            else:
                dynamic.append(target)
    return _Imports([m for m in static if m], [m for m in dynamic if m], unfollowed)


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "importlib":
        return func.attr
    return None


def _literal_import(node: ast.Call, module: str, path: Path) -> str | None:
    """The module a dynamic import names, when it is written as a literal."""
    if not node.args or not isinstance(node.args[0], ast.Constant) \
            or not isinstance(node.args[0].value, str):
        return None
    name = node.args[0].value
    if not name.startswith("."):
        return name
    level = len(name) - len(name.lstrip("."))
    package = next((k.value for k in node.keywords if k.arg == "package"), None)
    if isinstance(package, ast.Constant) and isinstance(package.value, str):
        anchor = package.value
    elif isinstance(package, ast.Name) and package.id == "__package__":
        anchor = module if _is_package(path) else module.rpartition(".")[0]
    else:
        return None
    parts = anchor.split(".")
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    rest = name[level:]
    return ".".join(parts) + (f".{rest}" if rest else "")


# -- hashing code as code: comments, docstrings and layout do not count ----------

def strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@cache
def _code_sha(path: Path, mtime_ns: int, size: int) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    dump = ast.dump(strip_docstrings(tree), annotate_fields=True, include_attributes=False)
    return hashlib.sha256(dump.encode()).hexdigest()


def code_sha(path: Path) -> str:
    """The hash of a module's syntax tree, without docstrings, positions or comments."""
    st = path.stat()
    return _code_sha(path, st.st_mtime_ns, st.st_size)


# The generator's code that runs inside the worker and shapes a result: the run handle
# (seeding, metrics, series, artifacts, data reads), figure saving and the figure style.
# Part of every key (see generator.plan.keys.EQUIVALENT_RUNTIMES before editing them).
RUNTIME_FILES = ("handle.py", "figures.py", "style.py")
GENERATOR = Path(__file__).resolve().parents[1]   # the generator package


def runtime_stamp(folder: Path | None = None) -> str:
    """A version stamp of the generator code in RUNTIME_FILES (comments do not count)."""
    folder = folder or GENERATOR
    h = hashlib.sha256()
    for name in RUNTIME_FILES:
        h.update(f"{name}:{code_sha(folder / name)}\n".encode())
    return h.hexdigest()[:16]

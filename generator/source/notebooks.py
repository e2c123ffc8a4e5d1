"""Notebooks as experiments, as read before anything runs: ``run: notebooks/week-3.ipynb``.

A notebook experiment is a Jupyter notebook, or a Jupytext percent-format ``.py``
file (cells start at ``# %%`` lines), inside the journal's folder.

- **Parameters** live in the code cell tagged ``parameters`` (as with papermill):
  plain assignments of literal values, optionally annotated. The front matter's
  ``params`` override them and are checked against the defaults' types before
  anything runs.
- **Keys** hash the notebook's code cells only (over their syntax tree, so
  comments and formatting do not count), what those cells import from the
  ``experiments`` package (followed like a module's imports), the journal's own
  code that runs the notebook (``generator/run/notebook.py`` and
  ``generator/run/kernel.py``), params, seed and data. Outputs, metadata and
  Markdown cells never change a key.

Running a notebook is ``generator.run.notebook`` (in the worker) and
``generator.run.kernel`` (in the Jupyter kernel); its page is ``generator.render.notebooks``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.source.code import PACKAGE, CodeError, Function, Param, closure, code_sha, strip_docstrings

PARAMETERS = "parameters"
INJECTED = "injected-parameters"
_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_TAGS = re.compile(r"tags\s*=\s*(\[[^\]]*\])")
_NOT_A_PERCENT_NOTEBOOK = "no '# %%' cell markers"
# The journal's code that runs a notebook: part of every notebook experiment's key.
RUNTIME = ("generator/run/notebook.py", "generator/run/kernel.py")


class NotebookError(CodeError):
    """A notebook that cannot be used as an experiment (raised while planning)."""


@dataclass(frozen=True)
class Cell:
    number: int                 # 1-based position in the notebook, as a reader counts cells
    kind: str                   # "code", "markdown" or "raw"
    source: str
    tags: tuple[str, ...] = ()
    metadata: dict | None = None


def is_notebook(ref: Any) -> bool:
    """Does a ``run:`` value name a notebook (a path) rather than ``module.function``?"""
    return isinstance(ref, str) and (ref.endswith(".ipynb") or ("/" in ref and ref.endswith(".py")))


# -- reading -------------------------------------------------------------------------------

def read_cells(path: Path) -> list[Cell]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return _ipynb_cells(text, path)
    return _percent_cells(text, path)


def _ipynb_cells(text: str, path: Path) -> list[Cell]:
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotebookError(f"{path.name} is not a Jupyter notebook (invalid JSON: {e.msg} "
                            f"at line {e.lineno})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path.name} is not a Jupyter notebook (no list of cells)")
    cells = []
    for i, c in enumerate(nb["cells"], 1):
        if not isinstance(c, dict):
            raise NotebookError(f"{path.name}: cell {i} is not a notebook cell")
        source = c.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        meta = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
        tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
        cells.append(Cell(i, str(c.get("cell_type", "code")), source,
                          tuple(str(t) for t in tags), meta))
    return cells


def _percent_cells(text: str, path: Path) -> list[Cell]:
    """Jupytext's percent format: ``# %%`` starts a code cell, ``# %% [markdown]`` a
    Markdown cell (its lines commented), ``tags=["parameters"]`` after the marker tags it."""
    if not any(_MARKER.match(line) for line in text.split("\n")):
        raise NotebookError(_NOT_A_PERCENT_NOTEBOOK)
    chunks: list[tuple[str, list[str]]] = [("", [])]  # (marker rest, lines)
    for line in text.split("\n"):
        m = _MARKER.match(line)
        if m:
            chunks.append((m.group("rest"), []))
        else:
            chunks[-1][1].append(line)
    head_rest, head = chunks[0]
    if not any(line.strip() and not line.lstrip().startswith("#") for line in head):
        chunks = chunks[1:]  # a header of comments (Jupytext's metadata) is not a cell
    cells = []
    for i, (rest, lines) in enumerate(chunks, 1):
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        kind = "markdown" if re.search(r"\[(markdown|md)\]", rest) else \
            "raw" if "[raw]" in rest else "code"
        tags: tuple[str, ...] = ()
        m = _TAGS.search(rest)
        if m:
            try:
                tags = tuple(str(t) for t in json.loads(m.group(1)))
            except json.JSONDecodeError:
                raise NotebookError(f"{path.name}: cannot read the tags of cell {i}: "
                                    f"{m.group(1)} (expected tags=[\"name\", ...])") from None
        if kind != "code":
            lines = [re.sub(r"^# ?", "", line) for line in lines]
        cells.append(Cell(i, kind, "\n".join(lines), tags, {"tags": list(tags)} if tags else {}))
    return cells


def parameters_cell(cells: list[Cell]) -> Cell | None:
    return next((c for c in cells if c.kind == "code" and PARAMETERS in c.tags), None)


def read_parameters(cell: Cell, ref: str) -> list[tuple[str, str | None, Any]]:
    """(name, annotation, default) for each assignment in the ``parameters`` cell."""
    try:
        tree = ast.parse(python_only(cell.source))
    except SyntaxError as e:
        raise NotebookError(f"'{ref}': the parameters cell (cell {cell.number}) is not valid "
                            f"Python: {e.msg} at its line {e.lineno}") from None
    out = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring-like note
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            name, ann, value = node.targets[0].id, None, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            name, ann, value = node.target.id, ast.unparse(node.annotation), node.value
        else:
            raise NotebookError(f"'{ref}': the parameters cell (cell {cell.number}) may hold only "
                                f"assignments such as `steps = 1000` or `lr: float = 0.1`, not "
                                f"`{ast.unparse(node)[:60]}` (line {node.lineno})")
        try:
            default = ast.literal_eval(value)
        except ValueError:
            raise NotebookError(f"'{ref}': the default of '{name}' in the parameters cell must be "
                                f"a literal (number, string, bool, None, list), not "
                                f"{ast.unparse(value)}") from None
        out.append((name, ann, list(default) if isinstance(default, tuple) else default))
    return out


def python_only(source: str) -> str:
    """IPython's magics and shell escapes (``%time``, ``!ls``) as ``pass``: the rest parses."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def find_notebook(root: Path, ref: str):
    """The notebook ``ref`` names, as a :class:`~generator.source.code.Function` whose parameters
    are the ``parameters`` cell's assignments."""
    rel = os.path.normpath(ref).replace(os.sep, "/")
    path = (root / rel).resolve()
    if rel.startswith("../") or not path.is_relative_to(root.resolve()):
        raise NotebookError(f"'{ref}' is outside the journal's folder")
    if not path.is_file():
        raise NotebookError(f"'{ref}': no such notebook (a path from the journal's folder, "
                            "e.g. notebooks/week-3.ipynb)")
    try:
        cells = read_cells(path)
    except NotebookError as e:
        if str(e) == _NOT_A_PERCENT_NOTEBOOK:
            raise NotebookError(f"'{ref}' is not of the form module.function (a function of the "
                                "experiments package, e.g. makemore.mlp), nor a notebook: a .py "
                                "notebook is in Jupytext's percent format, cells starting at "
                                "'# %%' lines") from None
        raise
    cell = parameters_cell(cells)
    params = read_parameters(cell, rel) if cell else []
    return Function(rel, "", path, tuple(Param(n, a, d) for n, a, d in params), None, notebook=True)


# -- what a key hashes ---------------------------------------------------------------------------

def notebook_code(root: Path, fn, file_sha) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """(function, code hashes, third-party packages) of a notebook experiment's key."""
    cells = read_cells(fn.file)
    # the journal's notebook runner and in-kernel runtime shape the result (figures, setup)
    package = Path(__file__).resolve().parents[1]
    code = {fn.ref: code_digest(cells),
            **{rel: code_sha(package / rel.removeprefix("generator/")) for rel in RUNTIME}}
    packages: set[str] = set()
    for module in imported_modules(cells):
        top = module.split(".")[0]
        if top == PACKAGE:
            deps = closure(root, module)
            code.update({f: file_sha(root / f) for f in deps.files})
            packages.update(deps.packages)
        elif top not in sys.stdlib_module_names and top not in ("generator", "IPython"):
            packages.add(top)
    return f"notebook:{fn.ref}", dict(sorted(code.items())), tuple(sorted(packages))


def code_digest(cells: list[Cell]) -> str:
    """A hash of the code cells' meaning: not outputs, metadata, Markdown, comments or layout."""
    h = hashlib.sha256()
    for cell in cells:
        if cell.kind != "code" or INJECTED in cell.tags:
            continue
        h.update(_normalised(cell.source).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _normalised(source: str) -> str:
    magics = [line.strip() for line in source.split("\n") if line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse(python_only(source))
    except SyntaxError:  # the kernel will say what is wrong; hash the text without comments
        return "\n".join(line.rstrip() for line in source.split("\n")
                         if line.strip() and not line.lstrip().startswith("#"))
    return ast.dump(strip_docstrings(tree), include_attributes=False) + "\n" + "\n".join(magics)


def imported_modules(cells: list[Cell]) -> list[str]:
    """Every module the code cells import by name (absolute imports only)."""
    out = []
    for cell in cells:
        if cell.kind != "code":
            continue
        try:
            tree = ast.parse(python_only(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                out.append(node.module)
                out.extend(f"{node.module}.{a.name}" for a in node.names)
    return out

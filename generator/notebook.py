"""Notebooks as experiments: ``run: notebooks/week-3.ipynb`` in front matter.

A notebook experiment is a Jupyter notebook, or a Jupytext percent-format ``.py``
file (cells start at ``# %%`` lines), inside the journal's folder. It keeps every
guarantee a function experiment has:

- **Parameters** live in the code cell tagged ``parameters`` (as with papermill):
  plain assignments of literal values, optionally annotated. The front matter's
  ``params`` override them and are checked against the defaults' types before
  anything runs. The overrides are injected as a cell after the ``parameters``
  cell, tagged ``injected-parameters``.
- **Keys** hash the notebook's code cells only (over their syntax tree, so
  comments and formatting do not count), what those cells import from the
  ``experiments`` package (followed like a module's imports), params, seed and
  data. Outputs, metadata and Markdown cells never change a key.
- **Running** happens in the worker process through nbclient and a Jupyter
  kernel: timeouts, crash isolation, threads, seeds, the write guard, progress
  and every backend work as for functions. Inside the notebook,
  ``run = generator.current_run()`` is the run handle; outside the journal it is
  a stand-in that prints what it is given, so the notebook still runs in Jupyter.
- **Figures** a cell leaves open (matplotlib) are saved as the run's figures,
  named by the cell's tag (or ``cell<N>``), with light and dark variants; an image
  a cell displays some other way is kept as it is, the same image for both.
- **The executed notebook** (outputs included, size-capped) is stored with the
  result as ``notebook.ipynb``; with ``publish: true`` it becomes a page linked
  from the post. A failing cell is reported with the notebook's path, the cell's
  number and its source around the error line; the executed notebook is kept
  beside the failed run's log.
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

from generator.code import CodeError

SUFFIXES = (".ipynb", ".py")
PARAMETERS = "parameters"
INJECTED = "injected-parameters"
_OURS = "journal"                    # metadata key of the cells the journal adds to run a notebook
ENV = "JOURNAL_NOTEBOOK_RUN"         # the run's settings, for the kernel
INFO_FILE = ".journal-info.json"     # what the kernel hands back
PROGRESS_FILE = ".journal-progress"
STORED = "notebook.ipynb"            # the executed notebook, kept with the result
OUTPUT_LIMIT = 2_000_000             # bytes of outputs kept in the stored notebook
_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_TAGS = re.compile(r"tags\s*=\s*(\[[^\]]*\])")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"(?:Cell In\s*\[[^\]]*\]|<ipython-input-[^>]*>),? line (\d+)")
_NOT_A_PERCENT_NOTEBOOK = "no '# %%' cell markers"
_FIGURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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
        tree = ast.parse(_python_only(cell.source))
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


def _python_only(source: str) -> str:
    """IPython's magics and shell escapes (``%time``, ``!ls``) as ``pass``: the rest parses."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def find_notebook(root: Path, ref: str):
    """The notebook ``ref`` names, as a :class:`~generator.code.Function` whose parameters
    are the ``parameters`` cell's assignments."""
    from generator.code import Function, Param

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
    from generator.code import PACKAGE, closure, code_sha

    cells = read_cells(fn.file)
    # this module runs in the kernel and shapes the result (figures, the handle's setup)
    code = {fn.ref: code_digest(cells), "generator/notebook.py": code_sha(Path(__file__))}
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
    from generator.code import _strip_docstrings

    magics = [line.strip() for line in source.split("\n") if line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse(_python_only(source))
    except SyntaxError:  # the kernel will say what is wrong; hash the text without comments
        return "\n".join(line.rstrip() for line in source.split("\n")
                         if line.strip() and not line.lstrip().startswith("#"))
    return ast.dump(_strip_docstrings(tree), include_attributes=False) + "\n" + "\n".join(magics)


def imported_modules(cells: list[Cell]) -> list[str]:
    """Every module the code cells import by name (absolute imports only)."""
    out = []
    for cell in cells:
        if cell.kind != "code":
            continue
        try:
            tree = ast.parse(_python_only(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                out.append(node.module)
                out.extend(f"{node.module}.{a.name}" for a in node.names)
    return out


# -- inside the worker: running the notebook ---------------------------------------------------

def execute(job, on_progress) -> dict[str, Any]:
    """Run the notebook of ``job`` in a Jupyter kernel; return what the run handle made.

    Called in the worker process, whose stdout is the run's log."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        raise RuntimeError("notebook experiments need nbclient and a Jupyter kernel: "
                           "pip install 'journal[notebooks]'") from None
    import threading

    root, staging = Path(job.root), Path(job.staging)
    path = root / job.notebook
    cells = read_cells(path)
    nb = _runnable(nbformat, path, cells, job)
    scratch = Path(job.scratch or staging)
    os.environ[ENV] = json.dumps({
        "staging": str(staging), "root": str(root), "seed": job.seed, "device": job.device,
        "quick": job.quick, "threads": job.threads, "scratch": str(scratch),
        "writable": os.environ.get("JOURNAL_WRITABLE", ""),
    })
    # Jupyter's own files (the kernel's connection file, IPython's history) go to the
    # run's temp dir, the one place outside the result folder a run may write.
    os.environ["JUPYTER_RUNTIME_DIR"] = str(scratch / "jupyter-runtime")
    os.environ["IPYTHONDIR"] = str(scratch / "ipython")
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    kernel = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"

    done = threading.Event()
    progress = staging / PROGRESS_FILE

    def watch() -> None:
        last = None
        while not done.wait(0.2):
            try:
                now = progress.read_text()
            except OSError:
                continue
            if now != last and now:
                last = now
                step, _, total = now.partition(" ")
                try:
                    on_progress(int(step), int(total) if total not in ("", "None") else None)
                except ValueError:
                    pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    client = NotebookClient(nb, timeout=None, kernel_name=kernel, allow_errors=False,
                            record_timing=False, resources={"metadata": {"path": str(staging)}})
    failure, completed = None, False
    try:
        client.execute()
        completed = True
    except CellExecutionError:
        failure = _failed_cell(nb, path, job.notebook)
    finally:
        done.set()
        watcher.join(1)
        _echo_outputs(nb)
        progress.unlink(missing_ok=True)
        if completed:
            info = _handed_back(staging)
            images = _loose_images(nb, staging, set(info["figures"]))
            info["figures"] = sorted(set(info["figures"]) | set(images))
        _save(nbformat, _stored(nb), staging / STORED)
    if failure:
        raise NotebookFailed(failure)
    info["notebook"] = {"path": job.notebook, "stored": STORED, "params": job.params,
                        "single_image_figures": sorted(images)}
    return info


def _handed_back(staging: Path) -> dict[str, Any]:
    info_path = staging / INFO_FILE
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise RuntimeError("the notebook finished but its run handle reported nothing "
                           "(did a cell shut the kernel down?)") from None
    info_path.unlink()
    return info


class NotebookFailed(Exception):
    """A cell raised: the message names the notebook, the cell and its source around the error."""


def _runnable(nbformat, path: Path, cells: list[Cell], job):
    """The notebook as the kernel runs it: our setup cell, injected parameters, a marker
    before each code cell (naming its figures), a finishing cell."""
    if path.suffix == ".ipynb":
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    else:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        for c in cells:
            new = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                   "raw": nbformat.v4.new_raw_cell}[c.kind if c.kind in ("code", "markdown", "raw")
                                                     else "raw"]
            nb.cells.append(new(c.source, metadata=dict(c.metadata or {})))
    ours = {_OURS: True}
    out = [nbformat.v4.new_code_cell("import generator.notebook as _journal\n_journal._setup()",
                                     metadata=ours)]
    for number, cell in enumerate(nb.cells, 1):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "code":
            name = next((t for t in tags if t not in (PARAMETERS, INJECTED)
                         and _FIGURE_NAME.match(t)), None) or f"cell{number}"
            out.append(nbformat.v4.new_code_cell(f"_journal._cell({number}, {name!r})",
                                                 metadata=ours))
        out.append(cell)
        if PARAMETERS in tags and job.params:
            lines = [f"{k} = {v!r}" for k, v in job.params.items()]
            out.append(nbformat.v4.new_code_cell(
                "# Parameters from the post's front matter\n" + "\n".join(lines),
                metadata={"tags": [INJECTED]}))
    out.append(nbformat.v4.new_code_cell("_journal._finish()", metadata=ours))
    nb.cells = out
    return nb


def _stored(nb):
    """The executed notebook without the journal's own cells, outputs capped in size."""
    import copy

    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(_OURS)]
    outputs = [(c, i) for c in nb.cells if c.cell_type == "code" for i in range(len(c.outputs))]
    sizes = {(id(c), i): len(json.dumps(c.outputs[i])) for c, i in outputs}
    total = sum(sizes.values())
    for (c, i) in sorted(outputs, key=lambda ci: -sizes[(id(ci[0]), ci[1])]):
        if total <= OUTPUT_LIMIT:
            break
        size = sizes[(id(c), i)]
        c.outputs[i] = {"output_type": "stream", "name": "stdout",
                        "text": f"[an output of {size:,} bytes was left out of the stored notebook]\n"}
        total -= size
    return nb


def _originals(nb):
    """(number, cell) for the notebook's own cells, numbered as in the notebook: not the
    journal's cells, not the injected parameters."""
    number = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if meta.get(_OURS) or INJECTED in meta.get("tags", []):
            continue
        number += 1
        yield number, cell


def _save(nbformat, nb, dest: Path) -> None:
    dest.write_text(nbformat.writes(nb), encoding="utf-8")


def _echo_outputs(nb) -> None:
    """What the cells printed goes to the run's log too, as a function's prints do."""
    for number, cell in _originals(nb):
        texts = [o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        texts += [_ANSI.sub("", "\n".join(o.get("traceback", []))) for o in cell.get("outputs", [])
                  if o.get("output_type") == "error"]
        if any(t.strip() for t in texts):
            print(f"--- cell {number} ---")
            print("".join(t if t.endswith("\n") else t + "\n" for t in texts), end="")
    sys.stdout.flush()


def _failed_cell(nb, path: Path, rel: str) -> str:
    for number, cell in _originals(nb):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        err = errors[-1]
        message = f"{rel}: cell {number} failed: {err.get('ename', 'Error')}: {err.get('evalue', '')}"
        trace = _ANSI.sub("", "\n".join(err.get("traceback", [])))
        m = _CELL_LINE.search(trace)
        lines = cell.source.split("\n")
        at = int(m.group(1)) if m else None
        lo, hi = (max(1, at - 2), min(len(lines), at + 2)) if at else (1, min(len(lines), 5))
        shown = [f"  {'>' if n == at else ' '} {n:3} | {lines[n - 1]}" for n in range(lo, hi + 1)]
        return "\n".join([message, *shown])
    return f"{rel}: a cell failed (no error output was recorded)"


def _loose_images(nb, staging: Path, taken: set[str]) -> list[str]:
    """PNG images cells displayed without going through the run handle: kept as they are."""
    import base64

    names = []
    for number, cell in _originals(nb):
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        base = next((t for t in tags if t not in (PARAMETERS, INJECTED) and _FIGURE_NAME.match(t)),
                    None) or f"cell{number}"
        for out in cell.get("outputs", []):
            data = out.get("data", {}) if out.get("output_type") in ("display_data",
                                                                       "execute_result") else {}
            if "image/png" not in data or (out.get("metadata") or {}).get("journal_figure"):
                continue
            name, k = base, 1
            while name in taken:
                k += 1
                name = f"{base}-{k}"
            taken.add(name)
            out.setdefault("metadata", {})["journal_figure"] = name
            png = base64.b64decode(data["image/png"])
            folder = staging / "figures"
            folder.mkdir(exist_ok=True)
            for variant in ("light", "dark"):
                (folder / f"{name}.{variant}.png").write_bytes(png)
            print(f"figure {name}: an image cell {number} displayed, kept as it is "
                  "(the same image in light and dark)")
            names.append(name)
    return names


# -- inside the kernel ------------------------------------------------------------------------------

_RUN = None          # the run handle of this process, when the journal runs it
_CELL = ["cell0"]    # the name figures of the running cell take


def current_run():
    """The run handle: ``run = generator.current_run()`` in a notebook experiment.

    Outside the journal (the notebook opened in Jupyter) it is a :class:`StandIn`
    that prints what it is given."""
    return _RUN if _RUN is not None else StandIn()


def _setup() -> None:
    """The journal's first cell in the kernel: the run handle, seeds, threads, the write guard."""
    global _RUN
    spec = json.loads(os.environ[ENV])
    from generator.worker import _die_with_parent, _guard_writes, _resolve_device

    _die_with_parent()  # the kernel goes when the worker goes (a timeout kills the worker)
    root = spec["root"]
    if root not in sys.path:
        sys.path.insert(0, root)
    threads = int(spec["threads"])
    device = spec["device"]
    if device != "cpu":
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            import torch  # noqa: F401 - the device is known only once torch is loaded
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    device = _resolve_device(device)
    import warnings

    warnings.filterwarnings("ignore", message=".*non-interactive.*")  # plt.show() under Agg
    from generator.handle import RunHandle

    progress = Path(spec["staging"]) / PROGRESS_FILE

    import time

    last = [0.0]

    def on_progress(step: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1 or (total is not None and step >= total):
            last[0] = now
            progress.write_text(f"{step} {total}")

    _RUN = RunHandle(spec["staging"], seed=spec["seed"], device=device, quick=spec["quick"],
                     root=root, on_progress=on_progress)
    _RUN.begin()
    extra = [p for p in spec["writable"].split(os.pathsep) if p]
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    _guard_writes([spec["staging"], spec["scratch"], "/dev/shm", home_cache, *extra,
                   os.environ.get("MPLCONFIGDIR") or os.path.expanduser("~/.config/matplotlib")])
    try:
        get_ipython = sys.modules["IPython"].get_ipython
        get_ipython().events.register("post_execute", _capture_figures)
    except (KeyError, AttributeError):
        pass


def _cell(number: int, name: str) -> None:
    _CELL[0] = name


def _capture_figures() -> None:
    """After each cell: save the matplotlib figures it left open, show them, close them."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None or _RUN is None or not plt.get_fignums():
        return
    from IPython.display import Image, display

    numbers = plt.get_fignums()
    for k, num in enumerate(numbers, 1):
        fig = plt.figure(num)
        name = _CELL[0] if len(numbers) == 1 else f"{_CELL[0]}-{k}"
        if name in _RUN._figures:
            name = f"{name}-{len(_RUN._figures) + 1}"
        _RUN.figure(name, fig)
        display(Image(filename=str(_RUN.out_dir / "figures" / f"{name}.light.png")),
                metadata={"journal_figure": name})
        plt.close(fig)


def _finish() -> None:
    """The journal's last cell: write metrics, series and what was read; hand back the rest."""
    _capture_figures()
    info = _RUN.finish(None)
    torch = sys.modules.get("torch")
    from generator.worker import _device_name

    info["kernel"] = {"torch": torch.__version__ if torch else None, "device": _RUN.device,
                      "device_name": _device_name(_RUN.device, torch)}
    (_RUN.out_dir / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")


class StandIn:
    """The run handle outside the journal: prints what it is given, keeps nothing.

    A notebook written for the journal still runs top to bottom in Jupyter."""

    seed = 0
    device = "cpu"
    quick = False

    def __init__(self) -> None:
        self.root = Path.cwd()
        self._total: int | None = None
        print("[journal] not run by the journal: results are printed, not stored")

    def seed_everything(self) -> None:
        from generator.handle import RunHandle

        RunHandle.seed_everything(self)  # type: ignore[arg-type]

    def generator(self):
        import torch

        return torch.Generator().manual_seed(self.seed)

    def total(self, steps: int) -> None:
        self._total = int(steps)

    def progress(self, step: int, total: int | None = None) -> None:
        if total is not None:
            self._total = int(total)

    def log(self, step: int, **scalars: float) -> None:
        every = max(1, (self._total or 10) // 10)
        if step % every == 0 or (self._total and step + 1 == self._total):
            shown = ", ".join(f"{k}={float(v):.4g}" for k, v in scalars.items())
            print(f"[journal] step {step}: {shown}")

    def metric(self, name: str, value: Any) -> None:
        print(f"[journal] metric {name} = {value!r}")

    def metrics(self, **values: Any) -> None:
        for name, value in values.items():
            self.metric(name, value)

    def figure(self, name: str, fig) -> None:
        print(f"[journal] figure {name}")

    def artifact(self, name: str, text: str) -> None:
        lines = str(text).splitlines()
        print(f"[journal] text {name} ({len(lines)} lines): " + " / ".join(lines[:3]))

    def read_text(self, path) -> str:
        return self.read_bytes(path).decode("utf-8")

    def read_bytes(self, path) -> bytes:
        return Path(path).read_bytes()


# -- publishing: the executed notebook as a page ---------------------------------------------------

def page_rel(slug: str, name: str) -> str:
    """The published notebook's page, relative to the engine's notebooks folder."""
    return f"{slug}-{name}.md"


def _demoted(markdown: str) -> str:
    """A Markdown cell's headings one level down: the page's own title is the one ``#``."""
    out, fence = [], None
    for line in markdown.split("\n"):
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
        if m and (fence is None or m.group(1).startswith(fence)):
            fence = None if fence else m.group(1)
        elif fence is None and re.match(r"^#{1,5} ", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def render_page(result, run, post_title: str, post_link: str, site) -> tuple[str, dict[str, Path]]:
    """Markdown for the executed notebook stored with ``result``: its cells, their outputs
    (text as code blocks, figures light and dark), and the parameters injected."""
    from generator import escape

    stored = json.loads((result.path / STORED).read_text(encoding="utf-8"))
    nbinfo = result.meta.get("notebook", {})
    slug = Path(post_link).stem
    files: dict[str, Path] = {}
    params = ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in nbinfo.get("params", {}).items())
    out = ["---", f"title: {json.dumps(f'The notebook behind {post_title}')}", "---", "",
           "# The notebook behind these numbers", "",
           f"`{run.function}`, as it ran for [{escape.inline(post_title)}]({post_link})"
           f" (experiment `{run.name}`, seed {run.seed}).", ""]
    if params:
        out += [site.box("info", "Parameters", f"Injected after the `parameters` cell: {params}"), ""]
    singles = set(nbinfo.get("single_image_figures", []))
    for cell in stored.get("cells", []):
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            out += [_demoted(source), ""]
            continue
        if cell.get("cell_type") != "code" or not source.strip():
            continue
        out += [escape.block(source, "python"), ""]
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            name = (o.get("metadata") or {}).get("journal_figure")
            if name and name in result.figures:
                base = f"assets/{slug}-{run.name}-{result.key[:8]}-{name}"
                for variant in ("light", "dark"):
                    files[f"{base}.{variant}.png"] = result.figure_path(name, variant)
                caption = f"{name} (one image, not re-drawn for the dark palette)" \
                    if name in singles else name
                out += [site.figure(base, name, caption), ""]
            elif kind == "stream":
                out += [escape.block("".join(o.get("text", "")).rstrip("\n")), ""]
            elif kind == "execute_result" and "text/plain" in o.get("data", {}):
                text = o["data"]["text/plain"]
                out += [escape.block("".join(text) if isinstance(text, list) else text), ""]
    return "\n".join(out).rstrip() + "\n", files

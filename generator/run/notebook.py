"""Running a notebook experiment, in the worker process: nbclient and a Jupyter kernel.

The notebook runs as the kernel sees it (:func:`runnable`): the journal's setup cell
(``generator.run.kernel``), the front matter's parameters injected after the
``parameters`` cell (tagged ``injected-parameters``), a marker before each code cell that
names its figures, and a finishing cell. Figures a cell leaves open are saved as the
run's figures (light and dark); an image a cell displays some other way is kept as it
is, the same image for both. The executed notebook (outputs included, size-capped) is
stored with the result as ``notebook.ipynb``. A failing cell is reported with the
notebook's path, the cell's number and its source around the error line.

What the worker and the kernel hand each other is ``generator.run.protocol``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from generator.run.protocol import ENV, INFO_FILE, OURS, PROGRESS_FILE, KernelReport, KernelSpec
from generator.source.notebooks import INJECTED, PARAMETERS, Cell, read_cells
from generator.store.results import NOTEBOOK_FILE as STORED

OUTPUT_LIMIT = 2_000_000             # bytes of outputs kept in the stored notebook
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"(?:Cell In\s*\[[^\]]*\]|<ipython-input-[^>]*>),? line (\d+)")
FIGURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def execute(job, on_progress) -> tuple[KernelReport, dict[str, Any]]:
    """Run the notebook of ``job`` in a Jupyter kernel; return what its run handle made
    and what was stored of the notebook (for result.json's ``notebook``).

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
    nb = runnable(nbformat, path, cells, job)
    scratch = Path(job.scratch or staging)
    os.environ[ENV] = KernelSpec(str(staging), str(root), job.seed, job.device, job.quick, job.threads,
                                 str(scratch), os.environ.get("JOURNAL_WRITABLE", "")).to_env()
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
            report = _handed_back(staging)
            images = _loose_images(nb, staging, set(report.info["figures"]))
            report.info["figures"] = sorted(set(report.info["figures"]) | set(images))
        _save(nbformat, _stored(nb), staging / STORED)
    if failure:
        raise NotebookFailed(failure)
    return report, {"path": job.notebook, "stored": STORED, "params": job.params,
                    "single_image_figures": sorted(images)}


def _handed_back(staging: Path) -> KernelReport:
    info_path = staging / INFO_FILE
    try:
        info = KernelReport.from_json(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        raise RuntimeError("the notebook finished but its run handle reported nothing "
                           "(did a cell shut the kernel down?)") from None
    info_path.unlink()
    return info


class NotebookFailed(Exception):
    """A cell raised: the message names the notebook, the cell and its source around the error."""


def runnable(nbformat, path: Path, cells: list[Cell], job):
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
    ours = {OURS: True}
    out = [nbformat.v4.new_code_cell("import generator.run.kernel as _journal\n_journal.setup()",
                                     metadata=ours)]
    for number, cell in enumerate(nb.cells, 1):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "code":
            name = next((t for t in tags if t not in (PARAMETERS, INJECTED)
                         and FIGURE_NAME.match(t)), None) or f"cell{number}"
            out.append(nbformat.v4.new_code_cell(f"_journal.cell({number}, {name!r})",
                                                 metadata=ours))
        out.append(cell)
        if PARAMETERS in tags and job.params:
            lines = [f"{k} = {v!r}" for k, v in job.params.items()]
            out.append(nbformat.v4.new_code_cell(
                "# Parameters from the post's front matter\n" + "\n".join(lines),
                metadata={"tags": [INJECTED]}))
    out.append(nbformat.v4.new_code_cell("_journal.finish()", metadata=ours))
    nb.cells = out
    return nb


def _stored(nb):
    """The executed notebook without the journal's own cells, outputs capped in size."""
    import copy

    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(OURS)]
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
        if meta.get(OURS) or INJECTED in meta.get("tags", []):
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
        base = next((t for t in tags if t not in (PARAMETERS, INJECTED) and FIGURE_NAME.match(t)),
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

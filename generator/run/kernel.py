"""The journal inside a notebook's Jupyter kernel: the run handle, and the cells the journal adds.

``generator.run.notebook`` runs a notebook with a first cell that calls :func:`setup`,
a marker before each code cell (:func:`cell`, which names the figures it leaves open)
and a last cell that calls :func:`finish`. In between, ``run = generator.current_run()``
is the run handle (``generator.current``).

The settings come from the worker as a :class:`~generator.run.protocol.KernelSpec`; what
the run made goes back as a :class:`~generator.run.protocol.KernelReport`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from generator import current
from generator.run.protocol import ENV, INFO_FILE, PROGRESS_FILE, KernelReport, KernelSpec, Throttle

_CELL = ["cell0"]    # the name figures of the running cell take


def setup() -> None:
    """The journal's first cell in the kernel: the run handle, seeds, threads, the write guard."""
    from generator.run.sandbox import allowed_writes, die_with_parent, guard_writes, resolve_device

    spec = KernelSpec.from_env(os.environ[ENV])
    die_with_parent()  # the kernel goes when the worker goes (a timeout kills the worker)
    if spec.root not in sys.path:
        sys.path.insert(0, spec.root)
    device = spec.device
    if device != "cpu":
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            import torch  # noqa: F401 - the device is known only once torch is loaded
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(spec.threads)
    device = resolve_device(device)
    import warnings

    warnings.filterwarnings("ignore", message=".*non-interactive.*")  # plt.show() under Agg
    from generator.handle import RunHandle

    progress = Path(spec.staging) / PROGRESS_FILE
    handle = RunHandle(spec.staging, seed=spec.seed, device=device, quick=spec.quick, root=spec.root,
                       on_progress=Throttle(lambda step, total: progress.write_text(f"{step} {total}")))
    current.bind(handle)
    handle.begin()
    guard_writes(allowed_writes(spec.staging, spec.scratch, spec.writable))
    try:
        get_ipython = sys.modules["IPython"].get_ipython
        get_ipython().events.register("post_execute", capture_figures)
    except (KeyError, AttributeError):
        pass


def cell(number: int, name: str) -> None:
    """The marker before cell ``number``: figures it leaves open are called ``name``."""
    _CELL[0] = name


def capture_figures() -> None:
    """After each cell: save the matplotlib figures it left open, show them, close them."""
    plt = sys.modules.get("matplotlib.pyplot")
    run = current.bound()
    if plt is None or run is None or not plt.get_fignums():
        return
    from IPython.display import Image, display

    numbers = plt.get_fignums()
    for k, num in enumerate(numbers, 1):
        fig = plt.figure(num)
        name = _CELL[0] if len(numbers) == 1 else f"{_CELL[0]}-{k}"
        saved = run.saved_figures
        if name in saved:
            name = f"{name}-{len(saved) + 1}"
        run.figure(name, fig)
        display(Image(filename=str(run.out_dir / "figures" / f"{name}.light.png")),
                metadata={"journal_figure": name})
        plt.close(fig)


def finish() -> None:
    """The journal's last cell: write metrics, series and what was read; hand back the rest."""
    from generator.run.sandbox import device_name

    capture_figures()
    run = current.bound()
    info = run.finish(None)
    torch = sys.modules.get("torch")
    report = KernelReport(info, torch.__version__ if torch else None, run.device,
                          device_name(run.device, torch))
    (run.out_dir / INFO_FILE).write_text(report.to_json(), encoding="utf-8")

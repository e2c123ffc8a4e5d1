"""The run handle of this process: ``run = generator.current_run()``.

In a notebook experiment (and in a function experiment's helpers) ``current_run()`` is the
run handle the worker made and bound here (:func:`bind`); outside the journal (a notebook
opened in Jupyter) it is a :class:`StandIn` that prints what it is given, so the notebook
still runs top to bottom.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_RUN = None          # the run handle of this process, when the journal runs it


def bind(handle) -> None:
    """Make ``handle`` the run handle that :func:`current_run` returns in this process."""
    global _RUN
    _RUN = handle


def bound():
    """The run handle bound in this process (None: none)."""
    return _RUN


def current_run():
    """The run handle: ``run = generator.current_run()`` in a notebook experiment.

    Outside the journal (the notebook opened in Jupyter) it is a :class:`StandIn`
    that prints what it is given."""
    return _RUN if _RUN is not None else StandIn()


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

"""What the processes of one run hand each other, typed.

- The worker process tells the build (through a pipe, or a Ray task's stream) how far
  the run got (:class:`Stepped`), then how it ended: :class:`Done` with what it made
  (:class:`Made`) or :class:`Failed` with a message.
- A notebook's Jupyter kernel is told its run's settings in the environment
  (:class:`KernelSpec`, under ``ENV``); it reports progress in ``PROGRESS_FILE`` and,
  when the notebook finishes, what its run handle made in ``INFO_FILE`` (both in the
  staging folder).

All of it is plain data, picklable and JSON-able.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ENV = "JOURNAL_NOTEBOOK_RUN"         # the run's settings, for the kernel
INFO_FILE = ".journal-info.json"     # what the kernel hands back
PROGRESS_FILE = ".journal-progress"  # "STEP TOTAL", rewritten as the notebook runs
OURS = "journal"                     # metadata key of the cells the journal adds to a notebook
PROGRESS_EVERY = 0.1                 # seconds: progress is passed on at most ten times a second


@dataclass(frozen=True)
class Made:
    """What a finished run made, besides its files: the names of its figures and text
    artifacts, the data files it read (path -> sha256) and where and how it ran."""

    figures: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    reads: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    notebook: dict[str, Any] | None = None   # a notebook experiment: what was stored of it

    @classmethod
    def from_handle(cls, info: dict[str, Any], provenance: dict[str, Any],
                    notebook: dict[str, Any] | None = None) -> Made:
        """From what ``RunHandle.finish`` returns."""
        return cls(tuple(info.get("figures", ())), tuple(info.get("artifacts", ())),
                   dict(info.get("reads", {})), provenance, notebook)

    def meta(self) -> dict[str, Any]:
        """The fields of result.json this contributes."""
        out: dict[str, Any] = {"figures": list(self.figures), "artifacts": list(self.artifacts),
                               "reads": self.reads}
        if self.notebook is not None:
            out["notebook"] = self.notebook
        return out


@dataclass(frozen=True)
class Stepped:
    """The run reached ``step`` of ``total`` (None: it did not say how many); ``points``:
    the series points logged since the last message (name -> [[step, value], ...])."""

    step: int
    total: int | None
    points: dict[str, list[list[float]]] = field(default_factory=dict)

    def merged(self, later: Stepped) -> Stepped:
        """This message and a later one as one (the later step, every point)."""
        points = {k: list(v) for k, v in self.points.items()}
        for k, v in later.points.items():
            points.setdefault(k, []).extend(v)
        return Stepped(later.step, later.total, points)


@dataclass(frozen=True)
class Done:
    made: Made


@dataclass(frozen=True)
class Failed:
    message: str      # the exception, where in the experiment it was raised


Message = Stepped | Done | Failed


class Throttle:
    """Progress as a run reports it, passed on to ``send(step, total)`` at most every
    ``every`` seconds, and always at the last step."""

    def __init__(self, send: Callable[[int, int | None], None], every: float = PROGRESS_EVERY) -> None:
        self.send, self.every, self.last = send, every, 0.0

    def __call__(self, step: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last >= self.every or (total is not None and step >= total):
            self.last = now
            self.send(step, total)


@dataclass(frozen=True)
class KernelSpec:
    """A notebook run's settings, as its kernel receives them."""

    staging: str
    root: str
    seed: int
    device: str
    quick: bool
    threads: int
    scratch: str
    writable: str = ""     # JOURNAL_WRITABLE: more folders the run may write

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> KernelSpec:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class KernelReport:
    """What a notebook's kernel hands back when the notebook finished: the run handle's
    record (``RunHandle.finish``) and the torch build and device it ran on."""

    info: dict[str, Any]
    torch: str | None
    device: str
    device_name: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> KernelReport:
        return cls(**json.loads(text))

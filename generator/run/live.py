"""What running experiments have logged so far, for ``journal status`` and ``journal serve``.

While a build runs, its executor keeps one small JSON file per running experiment in
``.journal/live/``: the experiment, its step and total, when it started, the latest value
of each logged scalar and the series so far. The file is rewritten at most once a second
and removed when the run ends. A file whose build process is gone (killed) is stale:
readers skip it. A live file is never a result: nothing in it is published.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVERY = 1.0   # seconds between rewrites of one run's file


@dataclass
class _Entry:
    name: str
    post: str
    function: str
    key: str
    started: float
    step: int = 0
    total: int | None = None
    series: dict[str, list[list[float]]] = field(default_factory=dict)
    written: float = 0.0


class Board:
    """The executor's side: one file per running experiment (``folder`` None: none)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.entries: dict[str, _Entry] = {}

    def _path(self, key: str) -> Path:
        return self.folder / f"{key[:16]}.json"

    def start(self, run) -> None:
        self.entries[run.key] = e = _Entry(run.name, run.post, run.function, run.key, time.time())
        self._write(e)

    def step(self, run, step: int, total: int | None, points: dict[str, list[list[float]]]) -> None:
        e = self.entries.get(run.key)
        if e is None:
            return
        e.step, e.total = step, total if total is not None else e.total
        for name, pts in points.items():
            e.series.setdefault(name, []).extend(pts)
        if time.monotonic() - e.written >= EVERY:
            self._write(e)

    def end(self, run) -> None:
        self._forget(run.key)

    def close(self) -> None:
        for key in list(self.entries):
            self._forget(key)

    def _forget(self, key: str) -> None:
        if self.entries.pop(key, None) is not None and self.folder is not None:
            with contextlib.suppress(OSError):
                self._path(key).unlink()

    def _write(self, e: _Entry) -> None:
        e.written = time.monotonic()
        if self.folder is None:
            return
        data = {"name": e.name, "post": e.post, "function": e.function, "key": e.key,
                "started": e.started, "updated": time.time(), "step": e.step, "total": e.total,
                "pid": os.getpid(), "host": socket.gethostname(),
                "latest": {k: v[-1][1] for k, v in e.series.items() if v}, "series": e.series}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._path(e.key).with_suffix(".tmp")
            tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self._path(e.key))
        except (OSError, ValueError):
            pass  # a live view is a courtesy: never fail a run over it


@dataclass(frozen=True)
class Running:
    """A running experiment, as its live file shows it."""

    name: str
    post: str
    function: str
    key: str
    step: int
    total: int | None
    started: float
    updated: float
    latest: dict[str, float]
    series: dict[str, list[list[float]]]

    @property
    def elapsed_s(self) -> float:
        return max(0.0, time.time() - self.started)

    @property
    def eta_s(self) -> float | None:
        if not self.total or self.step <= 0 or self.step >= self.total:
            return None
        return self.elapsed_s * (self.total - self.step) / self.step


def _alive(pid: Any, host: Any) -> bool:
    if host != socket.gethostname():
        return True  # another machine's build: trust the file
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def running(folder: Path) -> dict[str, Running]:
    """The experiments running now, by key (stale files of a killed build are skipped)."""
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            if not _alive(d.get("pid"), d.get("host")):
                continue
            out[d["key"]] = Running(d["name"], d["post"], d["function"], d["key"], int(d["step"]),
                                    d.get("total"), float(d["started"]), float(d["updated"]),
                                    dict(d.get("latest", {})), dict(d.get("series", {})))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out

"""Where checkpoints are kept: one folder per result key, outside git.

A run's checkpoint (``generator.checkpoints``) lives in ``.journal/checkpoints/<key16>/``
until its result is committed to the store, and is dropped then (unless the experiment
says ``keep_checkpoint: true``). A run whose key changed looks in another folder, so it
never resumes from a state another key wrote.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from generator import checkpoints


def folder(base: Path, key: str) -> Path:
    return base / key[:16]


@dataclass(frozen=True)
class Resumable:
    """A checkpoint waiting for its run to carry on."""

    key: str
    step: int
    total: int | None
    saved_at: float
    elapsed_s: float
    attempt: int
    path: Path

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.saved_at)


def summary(base: Path, key: str) -> Resumable | None:
    where = folder(base, key)
    data = checkpoints.summary(where)
    if data is None or data.get("key") != key:
        return None
    return Resumable(key, int(data.get("step", 0)), data.get("total"), float(data.get("saved_at", 0)),
                     float(data.get("elapsed_s", 0)), int(data.get("attempt", 1)), where)


def every(base: Path) -> dict[str, Resumable]:
    """Every checkpoint in ``base``, by its full key."""
    out = {}
    for where in sorted(base.glob("*")) if base.is_dir() else ():
        data = checkpoints.summary(where)
        if data is not None and isinstance(data.get("key"), str):
            found = summary(base, data["key"])
            if found is not None:
                out[found.key] = found
    return out


def discard(base: Path, key: str) -> bool:
    """Drop ``key``'s checkpoint; whether there was one."""
    where = folder(base, key)
    if not where.is_dir() or where.is_symlink():
        return False
    shutil.rmtree(where, ignore_errors=True)
    return True


def orphans(base: Path, keys: set[str]) -> list[Path]:
    """Checkpoint folders that belong to none of ``keys`` (no experiment will resume them)."""
    short = {k[:16] for k in keys}
    return [p for p in sorted(base.glob("*")) if base.is_dir() and p.is_dir() and p.name not in short]

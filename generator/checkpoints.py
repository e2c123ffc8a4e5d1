"""A run's checkpoint on disk: one file written whole or not at all.

``run.checkpoint(state)`` saves the experiment's ``state`` together with what the run
handle needs to carry on exactly where it stopped (the random number generators, the
series and metrics so far, figures and artifacts saved so far, the step, time spent).
``run.resume()`` reads it back. The folder belongs to one result key (the executor
names it after the key, under ``.journal/checkpoints/``); the payload says which key
wrote it, so a run never resumes from another key's state.

``checkpoint.pt`` is written to a temporary file, flushed to disk and renamed over the
last one: a checkpoint cut off half-way (a kill, a full disk) is never read, and the
previous one stays. ``checkpoint.json`` beside it is a small summary (step, total,
when, how long the run has taken) that the build and ``journal status`` read without
importing torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

FORMAT = 1                     # bump when the payload's layout changes
STATE = "checkpoint.pt"
SUMMARY = "checkpoint.json"


class CheckpointError(Exception):
    """A checkpoint that cannot be written or read; the message says what to do."""


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def save(folder: Path, payload: dict[str, Any], summary: dict[str, Any]) -> None:
    """Write ``payload`` (torch.save-able) and its ``summary`` (JSON) into ``folder``."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / STATE, lambda f: torch.save({"format": FORMAT, **payload}, f))
    text = json.dumps({"format": FORMAT, **summary, "saved_at": time.time()}, indent=1)
    _atomic_write(folder / SUMMARY, lambda f: f.write(text.encode()))


def load(folder: Path) -> dict[str, Any] | None:
    """The payload last saved in ``folder``; None when there is none."""
    path = folder / STATE
    if not path.is_file():
        return None
    import torch

    try:
        payload = torch.load(path, map_location=None, weights_only=False)
    except Exception as e:  # noqa: BLE001 - whatever torch says, the remedy is the same
        raise CheckpointError(f"the checkpoint {path} cannot be read ({type(e).__name__}: {e}); "
                              "`journal build --rerun NAME` starts the run over") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else None
        raise CheckpointError(f"the checkpoint {path} was written by another version of journal "
                              f"(format {found!r}, this one reads {FORMAT}); "
                              "`journal build --rerun NAME` starts the run over")
    return payload


def summary(folder: Path) -> dict[str, Any] | None:
    """What ``checkpoint.json`` says (step, total, saved_at, elapsed_s, key); None: no checkpoint."""
    try:
        data = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (folder / STATE).is_file() or not isinstance(data, dict):
        return None
    return data

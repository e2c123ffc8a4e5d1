"""Backends: where experiments run.

A backend schedules jobs (``generator.run.worker.Job``) and reports what happens to
them; the build commits finished results to the store. ``local`` runs worker
processes on this machine (the default); ``ray`` runs one Ray task per job on a
Ray cluster. Another engine (Dask, SLURM) is one more module here implementing
``generator.run.backends.base.Backend``, and its name in ``make`` and in
``generator.source.config.BACKENDS`` (which the command line offers).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from generator.run.backends.base import Backend
from generator.source.config import BACKENDS as NAMES

INSTALL_RAY = "pip install 'journal[ray]'  (in a checkout of journal: pip install -e '.[ray]')"


def ray_installed() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


def make(name: str, *, root: Path, jobs: int, address: str | None = None) -> Backend:
    """The backend called ``name`` (its module is imported only now: Ray is optional)."""
    if name == "ray":
        from generator.run.backends.ray import RayBackend

        return RayBackend(root, address=address)
    if name == "local":
        from generator.run.backends.local import LocalBackend

        return LocalBackend(jobs)
    raise ValueError(f"no backend named {name!r} (known: {', '.join(NAMES)})")

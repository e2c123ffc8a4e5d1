"""``journal lock``: write ``experiments.lock``, the installed version of every package the
experiments import (keys then read versions from it: a frozen build needs none installed)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from generator.plan.keys import installed_dists
from generator.source.lock import third_party, write_lock


def lock(root: Path) -> tuple[Path, dict[str, str], list[str]]:
    """Write the lock; (its path, {distribution: version}, modules not installed)."""
    root = root.resolve()
    versions, missing = {}, []
    for top in sorted(third_party(root)):
        dists = installed_dists(top)
        if not dists:
            missing.append(top)
        for d in dists:
            versions[d] = metadata.version(d).split("+")[0]
    return write_lock(root, versions), versions, missing

"""How many cores this process may really use: its CPU affinity and its cgroup's CPU quota.

``os.cpu_count()`` counts the machine. A container limited to two CPUs by a cgroup
(``docker run --cpus 2``) or a process pinned with ``taskset`` sees all of them there, and
a build that starts one torch thread per counted core oversubscribes what it is given.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cores(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> int:
    """min(CPU affinity, cgroup quota rounded up), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return cores


def cgroup_quota(cgroup_root: Path = CGROUP_ROOT,
                 proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota (in cores) of this process's cgroup and its parents; None: unlimited."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    v2 = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), None)
    v1 = next((line.split(":", 2)[2] for line in lines
               if line.count(":") >= 2 and "cpu" in line.split(":", 2)[1].split(",")), None)
    limits = []
    if v2 is not None:
        for folder in _up(cgroup_root, v2):
            limits.append(_v2_limit(folder / "cpu.max"))
    if v1 is not None:
        for base in (cgroup_root / "cpu", cgroup_root / "cpu,cpuacct"):
            for folder in _up(base, v1):
                limits.append(_v1_limit(folder))
    limits = [x for x in limits if x is not None]
    return min(limits) if limits else None


def _up(base: Path, rel: str) -> list[Path]:
    """``base/rel`` and each parent up to ``base``."""
    parts = [p for p in rel.strip("/").split("/") if p and p != ".."]
    return [base.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def _v2_limit(path: Path) -> float | None:
    try:
        fields = path.read_text().split()  # "max 100000" or "200000 100000"
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        return int(fields[0]) / int(fields[1])
    except (ValueError, ZeroDivisionError):
        return None


def _v1_limit(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None

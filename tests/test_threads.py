"""The thread budget: `threads:` per experiment (default 1), within the cores this process may use."""

from __future__ import annotations

import json
import os

from generator.run.cores import cgroup_quota, usable_cores

THREADS = '''
import os


def report(run):
    return {"omp": int(os.environ["OMP_NUM_THREADS"])}
'''


def _stored(journal) -> tuple[int, int]:
    meta = json.loads(next((journal.root / "results").rglob("result.json")).read_text())
    metrics = json.loads(next((journal.root / "results").rglob("metrics.json")).read_text())
    return meta["provenance"]["threads"], metrics["omp"]


def test_threads_default_to_one_and_are_recorded(journal):
    journal.write("experiments/threads.py", THREADS)
    post = journal.post("week-1", "t: {run: threads.report, threads: 2}", "{{ t.omp }}\n")
    assert journal.build(site=False).ran == 1
    assert _stored(journal) == (2, 2)
    post.write_text(post.read_text().replace(", threads: 2", ""))
    assert journal.build(site=False).ran == 0  # threads are not part of the key
    assert journal.build(site=False, rerun_all=True).ran == 1
    assert _stored(journal) == (1, 1)


def test_bad_threads_name_the_line(journal):
    journal.post("week-1", "sq: {run: toy.square, threads: 0}", "{{ sq.total }}\n")
    r = journal.cli("status")
    assert r.returncode == 2 and "posts/week-1.md:5: experiments.sq.threads" in r.stderr


def _cgroup(tmp_path, v2: str | None = None, v1: tuple[int, int] | None = None):
    root = tmp_path / "cgroup"
    lines = []
    if v2 is not None:
        (root / "job" / "inner").mkdir(parents=True)
        (root / "job" / "cpu.max").write_text(v2 + "\n")
        (root / "job" / "inner" / "cpu.max").write_text("max 100000\n")
        lines.append("0::/job/inner")
    if v1 is not None:
        (root / "cpu" / "job").mkdir(parents=True)
        (root / "cpu" / "job" / "cpu.cfs_quota_us").write_text(f"{v1[0]}\n")
        (root / "cpu" / "job" / "cpu.cfs_period_us").write_text(f"{v1[1]}\n")
        lines.append("3:cpu,cpuacct:/job")
    proc = tmp_path / "proc-cgroup"
    proc.write_text("\n".join(lines) + "\n")
    return root, proc


def test_a_cgroup_quota_limits_the_usable_cores(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    root, proc = _cgroup(tmp_path / "a", v2="50000 100000")   # half a core, set on a parent
    assert cgroup_quota(root, proc) == 0.5 and usable_cores(root, proc) == 1
    root, proc = _cgroup(tmp_path / "b", v2="max 100000")
    assert cgroup_quota(root, proc) is None and usable_cores(root, proc) == affinity
    root, proc = _cgroup(tmp_path / "c", v1=(150000, 100000))  # cgroup v1: 1.5 cores -> 2
    assert cgroup_quota(root, proc) == 1.5 and usable_cores(root, proc) == min(affinity, 2)
    root, proc = _cgroup(tmp_path / "d", v1=(-1, 100000))     # v1 unlimited
    assert cgroup_quota(root, proc) is None

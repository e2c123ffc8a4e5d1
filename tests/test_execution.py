"""Execution a user can trust: what re-runs, what fails, what is kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from generator.errors import LockBusy, RunFailed
from generator.run.backends.local import threads_per_worker

FAULTY = '''
import ctypes
import os
import time


def fine(run, *, n: int = 3):
    return {"n": n}


def raises(run):
    raise RuntimeError("the loss exploded at step 7")


def exits(run):
    os._exit(3)


def segfault(run):
    ctypes.string_at(0)


def hangs(run, *, seconds: float = 60):
    time.sleep(seconds)


def nan(run):
    return {"loss": float("nan")}


def not_serialisable(run):
    return {"model": object()}


def chatty(run, *, lines: int = 200000):
    for i in range(lines):
        print("line", i, "x" * 40)
    return {"lines": lines}


def slow(run, *, seconds: float = 2.0, tag: str = ""):
    time.sleep(seconds)
    return {"seconds": seconds}
'''


@pytest.fixture
def faulty(journal):
    journal.write("experiments/faulty.py", FAULTY)
    return journal


def test_each_failure_is_reported_while_the_others_complete(faulty):
    faulty.post("week-1", """
        ok: {run: faulty.fine}
        boom: {run: faulty.raises}
        gone: {run: faulty.exits}
        crash: {run: faulty.segfault}
        stuck: {run: faulty.hangs, timeout: 2s}
        diverged: {run: faulty.nan}
        object: {run: faulty.not_serialisable}
    """, "{{ ok.n }}\n")
    r = faulty.cli("build", "--jobs", "3")
    assert r.returncode == 1, r.stderr
    err = r.stderr
    assert "6 experiments failed" in err
    assert "RuntimeError: the loss exploded at step 7" in err
    assert "exited with status 3 before reporting a result" in err
    assert "died from SIGSEGV (segmentation fault)" in err
    assert "timed out after 2s" in err
    assert "metric 'loss' is not a finite number" in err
    assert "must be a number, bool or string, not object" in err
    assert "full log: .journal/logs/boom-" in err
    assert "Traceback" not in err
    results = list((faulty.root / "results").glob("*/*/result.json"))
    assert len(results) == 1 and "faulty.fine" in str(results[0])  # only the good one was stored
    assert not list((faulty.root / "results").glob(".tmp/*"))  # no staging folder left behind


def test_keep_going_builds_the_site_with_a_warning_box(faulty):
    faulty.post("week-1", "ok: {run: faulty.fine}", "Fine: {{ ok.n }}.\n")
    faulty.post("week-2", "boom: {run: faulty.raises}", "Broken: {{ boom.x }}.\n", date="2024-07-11")
    r = faulty.cli("build", "--keep-going")
    assert r.returncode == 1
    assert "The site was built" in r.stderr
    assert "Fine: 3." in faulty.html("week-1")
    html = faulty.html("week-2")
    assert "No result for experiment boom" in html and "the loss exploded" in html
    assert "⚠ no result for boom" in html


def test_failed_rerun_keeps_the_last_good_result(faulty):
    post = faulty.post("week-1", "s: {run: faulty.slow, params: {seconds: 0.1}, timeout: 4s}", "{{ s.seconds }}\n")
    faulty.build()
    before = {p: p.read_bytes() for p in (faulty.root / "results").rglob("*") if p.is_file()}
    post.write_text(post.read_text().replace("seconds: 0.1", "seconds: 30"))
    with pytest.raises(RunFailed, match="timed out"):
        faulty.build()
    after = {p: p.read_bytes() for p in (faulty.root / "results").rglob("*") if p.is_file()}
    assert after == before


def test_output_is_captured_and_capped(faulty):
    faulty.post("week-1", "c: {run: faulty.chatty}", "{{ c.lines }}\n")
    faulty.build()
    log = next((faulty.root / "results").rglob("log.txt"))
    text = log.read_text()
    assert "line 0 " in text and "line 199999 " in text and "bytes of output left out" in text
    assert log.stat().st_size < 1_100_000


def test_editing_an_imported_helper_reruns_exactly_its_dependents(journal):
    # the package's __init__.py imports nothing: it would run (and so count) for both
    journal.write("experiments/pkg/__init__.py", "")
    journal.write("experiments/pkg/helper.py", "FACTOR = 2\n")
    journal.write("experiments/pkg/a.py", """
        import os
        from .helper import FACTOR

        def uses_helper(run):
            open(os.environ["JOURNAL_TEST_COUNTER"], "a").write("a\\n")
            return {"x": FACTOR}
    """)
    journal.write("experiments/pkg/b.py", """
        import os

        def standalone(run):
            open(os.environ["JOURNAL_TEST_COUNTER"], "a").write("b\\n")
            return {"x": 1}
    """)
    journal.post("week-1", "a: {run: pkg.a.uses_helper}\nb: {run: pkg.b.standalone}",
                 "{{ a.x }} {{ b.x }}\n")
    journal.build()
    assert sorted(journal.calls()) == ["a", "b"]
    journal.write("experiments/pkg/helper.py", "FACTOR = 3\n")
    r = journal.cli("status", "--explain")
    assert "stale" in r.stdout + r.stderr and "experiments/pkg/helper.py changed" in r.stdout + r.stderr
    summary = journal.build()
    assert summary.ran == 1 and sorted(journal.calls()) == ["a", "a", "b"]
    assert "3 1" in journal.html("week-1")


def test_changing_a_data_file_reruns_its_readers(journal):
    journal.write("data/words.txt", "ab\ncd\n")
    journal.write("experiments/reader.py", """
        def count(run, *, path: str = "data/words.txt"):
            return {"words": len(run.read_text(path).split())}

        def other(run):
            return {"x": 1}
    """)
    journal.post("week-1", "r: {run: reader.count}\no: {run: reader.other}", "{{ r.words }}\n")
    assert journal.build().ran == 2
    assert journal.build().ran == 0
    journal.write("data/words.txt", "ab\ncd\nef\n")
    r = journal.cli("status", "--explain")
    assert "data/words.txt changed" in r.stdout
    summary = journal.build()
    assert (summary.ran, summary.cached) == (1, 1)
    assert ">3</p>" in journal.html("week-1").replace("\n", "")


def test_rerun_and_gc(journal):
    post = journal.post("week-1", "sq: {run: toy.square, params: {n: 3}}", "{{ sq.total }}\n")
    journal.build()
    assert journal.build(rerun=("sq",)).ran == 1
    post.write_text(post.read_text().replace("n: 3", "n: 4"))
    journal.build()
    assert len(list((journal.root / "results").glob("*/*/result.json"))) == 2
    r = journal.cli("gc")
    assert r.returncode == 0 and "1 result folder removed" in r.stderr
    assert len(list((journal.root / "results").glob("*/*/result.json"))) == 1
    assert journal.build().ran == 0


def test_same_key_gives_same_metrics(journal):
    journal.write("experiments/rand.py", """
        import random
        import numpy as np
        import torch

        def draw(run):
            return {"py": random.random(), "np": float(np.random.rand()),
                    "torch": float(torch.rand(1)), "gen": float(torch.rand(1, generator=run.generator()))}
    """)
    journal.post("week-1", "r: {run: rand.draw, seed: 7}", "{{ r.py }}\n")
    journal.build()
    first = json.loads(next((journal.root / "results").rglob("metrics.json")).read_text())
    journal.build(rerun_all=True)
    second = json.loads(next((journal.root / "results").rglob("metrics.json")).read_text())
    assert first == second


def test_corrupt_result_is_reported_and_rerun_on_request(journal):
    journal.post("week-1", "sq: {run: toy.square, params: {n: 3}}", "{{ sq.total }}\n")
    journal.build()
    metrics = next((journal.root / "results").rglob("metrics.json"))
    metrics.write_text('{"total": 999}')
    r = journal.cli("build")
    assert r.returncode == 1 and "is corrupt (metrics.json was modified)" in r.stderr
    assert "journal build --rerun sq" in r.stderr
    assert journal.cli("build", "--rerun", "sq").returncode == 0
    assert json.loads(metrics.read_text())["total"] == 5


def _start_build(journal, *args):
    env = dict(os.environ, JOURNAL_TEST_COUNTER=str(journal.counter))
    return subprocess.Popen([sys.executable, "-m", "generator", "-C", str(journal.root), "build",
                             *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_workers(journal, n, timeout=30):
    tmp = journal.root / "results" / ".tmp"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if tmp.is_dir() and len(list(tmp.iterdir())) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("workers did not start")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_build_leaves_the_store_intact(faulty, sig):
    faulty.post("week-1", """
        quick_one: {run: faulty.slow, params: {seconds: 0.1}}
        slow_one: {run: faulty.slow, params: {seconds: 30, tag: b}}
    """, "{{ quick_one.seconds }} {{ slow_one.seconds }}\n")
    proc = _start_build(faulty, "--jobs", "2")
    deadline = time.time() + 30
    while time.time() < deadline and not list((faulty.root / "results").glob("faulty.slow/*/result.json")):
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert proc.returncode == (130 if sig == signal.SIGINT else -9)
    stored = list((faulty.root / "results").glob("faulty.slow/*/result.json"))
    assert len(stored) == 1  # the finished result was kept, the running one left nothing
    assert json.loads((stored[0].parent / "metrics.json").read_text()) == {"seconds": 0.1}
    time.sleep(0.5)
    # the next build completes; it runs only what had not finished
    faulty.post("week-1", """
        quick_one: {run: faulty.slow, params: {seconds: 0.1}}
        slow_one: {run: faulty.slow, params: {seconds: 0.2, tag: b}}
    """, "{{ quick_one.seconds }} {{ slow_one.seconds }}\n")
    assert faulty.build().ran == 1


def test_two_builds_never_interleave(faulty):
    faulty.post("week-1", "s: {run: faulty.slow, params: {seconds: 3}}", "{{ s.seconds }}\n")
    first = _start_build(faulty)
    _wait_for_workers(faulty, 1)
    with pytest.raises(LockBusy, match="in use by pid"):
        faulty.build(wait=False)
    second = _start_build(faulty)
    out1 = first.communicate(timeout=60)
    out2 = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, out1[1] + out2[1]
    assert "waiting for the results store" in out2[1]
    assert "nothing to run" in out2[1]


def test_parallel_workers_share_the_cores():
    assert threads_per_worker(jobs=2, runs=4, cores=2) == 1
    assert threads_per_worker(jobs=4, runs=1, cores=8) == 8
    assert threads_per_worker(jobs=3, runs=10, cores=8) == 2

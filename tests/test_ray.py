"""The Ray backend, on a real local Ray cluster started for this module.

Ray is slow to start on a small machine, so one head serves every test here and the
number of builds against it is kept small: one build runs the whole mix (fine
experiments, one that raises, one that exits, one past its timeout, a data reader,
a torch fit); the other tests look at what it left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from generator.errors import InputError, RunFailed

CLUSTER = '''
import os
import time


def raises(run):
    raise RuntimeError("the loss exploded at step 7")


def exits(run):
    print("about to leave")
    os._exit(3)


def hangs(run, *, seconds: float = 120, tag: str = ""):
    pids = os.environ.get("JOURNAL_TEST_PIDS")
    if pids:
        with open(os.path.join(pids, f"hang-{tag}.pid"), "w") as f:
            f.write(str(os.getpid()))
    run.total(100)
    for i in range(100):
        run.progress(i)
        time.sleep(seconds / 100)
    return {"slept": seconds}


def reads(run, *, path: str = "data/words.txt"):
    words = run.read_text(path).split()
    return {"words": len(words), "first": words[0]}


def counts(run, *, n: int = 30):
    run.total(n)
    total = 0
    for i in range(n):
        total += i * i
        run.log(i, total=total)
        time.sleep(0.02)
    return {"total": total}


def fit(run, *, steps: int = 30):
    import torch

    g = run.generator()
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.1 * torch.randn(64, generator=g)
    w = torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    for i in range(steps):
        loss = ((x @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(i, loss=loss.item())
    return {"loss": loss.item(), "w0": w[0].item()}
'''

BODY = "{{ sq.total }} {{ words.words }} {{ fit.loss }} {{ counts.total }}\n"
GOOD = """
    sq: {run: toy.square, params: {n: 6}}
    words: {run: cluster.reads}
    fit: {run: cluster.fit}
    counts: {run: cluster.counts}
"""
BAD = """
    boom: {run: cluster.raises}
    gone: {run: cluster.exits}
    stuck: {run: cluster.hangs, timeout: 4s}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A local Ray head with 2 CPUs, stopped (with everything it started) after the module."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # Ray's socket paths must stay short
    port = _free_port()
    pids = temp / "pids"  # experiments on the cluster note their pids here
    pids.mkdir()
    log = open(temp / "head.log", "w+")
    head = subprocess.Popen(
        [shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray"), "start",
         "--head", "--port", str(port), "--num-cpus", "2", "--num-gpus", "0", "--disable-usage-stats",
         "--include-dashboard=false", "--dashboard-agent-listen-port", str(_free_port()), "--temp-dir", str(temp), "--block"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0", JOURNAL_TEST_PIDS=str(pids),
                 JOURNAL_WRITABLE=str(pids)))
    try:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in (temp / "head.log").read_text():
            assert head.poll() is None, "ray start failed:\n" + (temp / "head.log").read_text()
            assert time.monotonic() < deadline, "the Ray head did not start in 3 minutes"
            time.sleep(0.25)
        yield f"127.0.0.1:{port}", pids
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(10)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


class Recorder:
    """Wraps the build's reporter to see what reached the live display."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.started: list[str] = []
        self.steps: dict[str, list[int]] = {}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def start(self, run) -> None:
        self.started.append(run.name)
        self.inner.start(run)

    def progress(self, run, step, total) -> None:
        self.steps.setdefault(run.name, []).append(step)
        self.inner.progress(run, step, total)


@pytest.fixture(scope="module")
def on_ray(cluster, tmp_path_factory):
    """One build through the cluster of the whole mix; what it produced and reported."""
    from conftest import Journal, make_journal

    import generator.run.progress as progress_module  # the build takes its reporter from here

    base = tmp_path_factory.mktemp("ray")
    root = make_journal(base / "journal")
    counter = base / "counter" / "calls.txt"
    counter.parent.mkdir()
    address, pids = cluster
    j = Journal(root, counter)
    j.write("experiments/cluster.py", CLUSTER)
    j.write("data/words.txt", "alpha beta gamma\n")
    j.post("week-1", GOOD + BAD, BODY)
    recorders: list[Recorder] = []
    original = progress_module.reporter

    def recording(total, quiet=False):
        recorders.append(Recorder(original(total, quiet=quiet)))
        return recorders[-1]

    progress_module.reporter = recording
    t0 = time.monotonic()
    try:
        with pytest.raises(RunFailed) as failed:
            j.build(backend="ray", address=address, keep_going=True)
    finally:
        progress_module.reporter = original
    return {"journal": j, "error": str(failed.value), "recorder": recorders[0],
            "seconds": time.monotonic() - t0, "address": address, "pids": pids}


def _result(j, function: str) -> Path:
    (folder,) = (j.root / "results" / function).iterdir()
    return folder


def test_failures_are_reported_while_the_others_finish(on_ray):
    j, error = on_ray["journal"], on_ray["error"]
    assert "3 experiments failed" in error, error
    assert "boom (cluster.raises) in posts/week-1.md" in error
    assert "RuntimeError: the loss exploded at step 7" in error
    assert "at experiments/cluster.py:" in error  # the experiment's own line, as locally
    assert "gone (cluster.exits)" in error and "exited with status 3" in error
    assert "about to leave" in error  # a crash's last words come back from the node
    assert "stuck (cluster.hangs)" in error and "timed out after 4s" in error
    assert (j.root / ".journal" / "logs").is_dir()
    for name in ("boom", "gone", "stuck"):
        assert list((j.root / ".journal" / "logs").glob(f"{name}-*.log")), name
    # the others landed in the store, and the site was built around the failures
    for function in ("toy.square", "cluster.reads", "cluster.fit", "cluster.counts"):
        meta = json.loads((_result(j, function) / "result.json").read_text())
        assert meta["provenance"]["backend"] == "ray"
        assert meta["provenance"]["node"] == socket.gethostname()
        assert meta["provenance"]["device_name"]
    assert not (j.root / "results" / "cluster.raises").exists()
    square = json.loads((_result(j, "toy.square") / "metrics.json").read_text())
    assert square == {"n": 6, "total": 55.0}  # 0 + 1 + 4 + 9 + 16 + 25
    page = j.html("week-1")
    assert "55" in page
    assert not list((j.root / "results" / ".tmp").glob("*"))  # no staging folder left behind


def test_progress_from_the_cluster_reaches_the_display(on_ray):
    rec = on_ray["recorder"]
    assert set(rec.started) >= {"sq", "words", "fit", "counts", "boom", "gone", "stuck"}
    assert max(rec.steps.get("counts", [0])) >= 20, rec.steps
    assert rec.steps.get("stuck"), rec.steps  # a run that never finished still showed steps


def test_the_timed_out_task_was_cancelled(on_ray):
    (pid_file,) = on_ray["pids"].glob("hang-*.pid")
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and _state(pid) not in ("Z", "X"):
        assert time.monotonic() < deadline, "the timed-out experiment is still running on the node"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "X"


def test_a_cluster_result_is_fresh_here_and_a_second_build_runs_nothing(on_ray):
    j = on_ray["journal"]
    j.post("week-1", GOOD, BODY)  # the failing ones removed
    status = j.cli("status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.strip().splitlines()
    assert lines[-1] == "4 fresh" and all(x.startswith("fresh") for x in lines[:-1]), status.stdout
    summary = j.build(backend="ray", address=on_ray["address"])
    assert summary.ran == 0 and summary.cached == 4
    frozen = j.cli("build", "--frozen")
    assert frozen.returncode == 0, frozen.stderr


def test_local_and_ray_give_the_same_metrics(on_ray):
    j = on_ray["journal"]
    j.post("week-1", GOOD, BODY)
    for function in ("cluster.fit", "toy.square", "cluster.reads"):
        folder = _result(j, function)
        on_cluster = (folder / "metrics.json").read_text()
        series = (folder / "series.json").read_text()
        name = {"cluster.fit": "fit", "toy.square": "sq", "cluster.reads": "words"}[function]
        summary = j.build(backend="local", rerun=(name,), site=False)
        assert summary.ran == 1
        assert _result(j, function) == folder  # the same key: the same folder
        assert (folder / "metrics.json").read_text() == on_cluster
        assert (folder / "series.json").read_text() == series
        meta = json.loads((folder / "result.json").read_text())
        assert meta["provenance"]["backend"] == "local"


def test_a_data_file_read_on_the_cluster_stales_the_result_when_it_changes_here(on_ray):
    j = on_ray["journal"]
    j.post("week-1", GOOD, BODY)
    meta = json.loads((_result(j, "cluster.reads") / "result.json").read_text())
    assert list(meta["reads"]) == ["data/words.txt"]
    j.write("data/words.txt", "delta epsilon\n")
    status = j.cli("status", "--explain")
    assert "stale" in status.stdout and "data/words.txt changed" in status.stdout, status.stdout
    j.write("data/words.txt", "alpha beta gamma\n")
    assert "4 fresh" in j.cli("status").stdout


def test_ctrl_c_cancels_the_cluster_tasks_and_exits_130(on_ray, tmp_path):
    j = on_ray["journal"]
    j.post("week-2", "wait: {run: cluster.hangs, params: {seconds: 200, tag: ctrlc}}\n", "x\n",
           date="2024-07-11")
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "generator", "-C", str(j.root), "run",
                             "--address", on_ray["address"]], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid_file = on_ray["pids"] / "hang-ctrlc.pid"
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the experiment never started on the cluster"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while _state(pid) not in ("Z", "X"):
        assert time.monotonic() < deadline, "the experiment kept running on the cluster after Ctrl-C"
        time.sleep(0.1)
    assert not (j.root / "results" / "cluster.hangs").exists()
    (j.root / "posts" / "week-2.md").unlink()


def test_a_gpu_experiment_is_refused_where_no_gpu_is(on_ray):
    j = on_ray["journal"]
    j.post("week-3", "gpu: {run: toy.square, params: {n: 2}, resources: {gpus: 1}}\n", "x\n",
           date="2024-07-18")
    try:
        for backend in ("ray", "local"):
            if backend == "local":
                import torch

                if torch.cuda.device_count():
                    continue  # this machine has a GPU: nothing to refuse
            with pytest.raises(InputError) as e:
                j.build(backend=backend, address=on_ray["address"] if backend == "ray" else None)
            message = str(e.value)
            assert "posts/week-3.md:5: experiments.gpu.resources.gpus:" in message, message
            assert "asks for 1 GPU" in message
    finally:
        (j.root / "posts" / "week-3.md").unlink()


# -- without a cluster ---------------------------------------------------------------------

def test_without_ray_the_ray_backend_says_how_to_install_it(journal):
    journal.post("week-1", "sq: {run: toy.square}\n", "{{ sq.total }}\n")
    blocked = ("import sys; sys.modules['ray'] = None; from generator.cli import main; "
               "main(prog_name='journal')")
    r = subprocess.run([sys.executable, "-c", blocked, "-C", str(journal.root), "build",
                        "--backend", "ray"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "pip install" in r.stderr and "[ray]" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (journal.root / "results").exists()
    journal.write("pyproject.toml", '[tool.journal]\nbackend = "ray"\n')
    r = subprocess.run([sys.executable, "-c", blocked, "-C", str(journal.root), "build"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "pyproject.toml:2: tool.journal.backend:" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-c", blocked, "-C", str(journal.root), "build", "--frozen"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "--frozen" in r.stderr, r.stderr  # stale, not "install Ray"


@pytest.mark.parametrize("resources, expected", [
    ("{gpus: -1}", "experiments.sq.resources.gpus: expected a number of GPUs"),
    ("{cpus: 0}", "experiments.sq.resources.cpus: expected a positive number of cores"),
    ("{memory: lots}", "experiments.sq.resources.memory: expected an amount such as 512MB"),
    ("{disks: 2}", "experiments.sq.resources.disks: unknown resource; use cpus, gpus, memory"),
    ("4", "experiments.sq.resources: expected a mapping"),
])
def test_bad_resources_are_reported_with_their_line(journal, resources, expected):
    journal.post("week-1", f"sq:\n  run: toy.square\n  resources: {resources}\n", "x\n")
    r = journal.cli("build")
    assert r.returncode == 2, r.stderr
    assert "posts/week-1.md:7:" in r.stderr and expected in r.stderr, r.stderr


def test_the_local_backend_gives_an_experiment_the_cores_it_asks_for(journal):
    journal.post("week-1", "sq: {run: toy.square, resources: {cpus: 1}}\n", "x\n")
    journal.build(site=False, jobs=1)
    (meta,) = [json.loads(p.read_text()) for p in (journal.root / "results").glob("*/*/result.json")]
    assert meta["provenance"]["threads"] == 1 and meta["provenance"]["backend"] == "local"


def test_the_key_does_not_depend_on_resources_or_backend(journal):
    from generator.context import Journal

    journal.post("week-1", "sq: {run: toy.square}\n", "x\n")
    (plain,) = Journal.open(journal.root).read()[1].runs
    journal.post("week-1", "sq: {run: toy.square, resources: {cpus: 2, gpus: 1, memory: 2GB}}\n", "x\n")
    (asking,) = Journal.open(journal.root).read()[1].runs
    assert plain.key == asking.key and asking.resources.memory == 2 * 10**9


def test_an_unreachable_cluster_is_reported_before_anything_runs(journal):
    pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    journal.post("week-1", "sq: {run: toy.square}\n", "{{ sq.total }}\n")
    r = journal.cli("build", "--address", f"127.0.0.1:{_free_port()}", timeout=120)
    assert r.returncode == 1, r.stderr
    assert "could not reach the Ray cluster at 127.0.0.1:" in r.stderr and "ray start --head" in r.stderr
    assert "Traceback" not in r.stderr and not journal.calls()
    assert not (journal.root / "results" / "toy.square").exists()


def test_a_notebook_experiment_runs_on_the_cluster_too(cluster, tmp_path):
    pytest.importorskip("nbclient")
    from conftest import Journal, make_journal
    from test_notebooks import HELPER, POST_BODY, notebook

    j = Journal(make_journal(tmp_path / "journal"), tmp_path / "calls.txt")
    j.write("experiments/helper.py", HELPER)
    j.write("notebooks/week.ipynb", notebook())
    j.post("notebook", "nb:\n  run: notebooks/week.ipynb\n  params: {steps: 5, scale: 2}\n", POST_BODY)
    summary = j.build(backend="ray", address=cluster[0])
    assert summary.ran == 1 and not summary.failed
    assert "The total was 20 after 5 steps." in j.html("notebook")
    (folder,) = (j.root / "results" / "notebooks--week.ipynb").iterdir()
    meta = json.loads((folder / "result.json").read_text())
    assert meta["provenance"]["backend"] == "ray" and meta["figures"] == ["curve"]
    assert (folder / "notebook.ipynb").is_file()
    assert j.build().ran == 0  # made on the cluster, fresh here


def test_the_command_line_offers_every_backend():
    from generator.cli import BACKENDS
    from generator.run.backends import NAMES

    assert tuple(BACKENDS) == NAMES

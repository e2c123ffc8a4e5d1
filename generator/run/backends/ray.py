"""The Ray backend: each stale experiment is one Ray task on a Ray cluster.

What is shipped: the journal's folder as the tasks' ``working_dir`` (the
experiments package and the data files beside it; never results/, site/, docs/,
.git or .journal), and this ``generator`` package through ``py_modules``, with
Ray's ``runtime_env``. Ray caches both by content, so a second build uploads
nothing new.

Inside the task the job runs as it does locally: in a spawned worker process
(``generator.run.worker.Child``), writing into a temporary staging folder on the node.
What comes back is that folder as a tar archive (bytes); it is unpacked into the
local staging folder and the build seals it into the store, exactly like a local
run. The task is a streaming generator: it yields "started" (with the node's
name), progress now and then, and at last the outcome with the packed folder. A task that raises, exits or is lost is a failed run; a timeout cancels the
task with ``ray.cancel(force=True)``.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import tarfile
import tempfile
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import ray  # noqa: I001 - the package, not this module (absolute imports)

import generator
from generator.errors import JournalError
from generator.plan.model import Resources
from generator.run.backends.base import Event, Finished, Progress, Request, Started
from generator.run.protocol import Stepped
from generator.run.worker import Child, Job, Outcome

# never shipped: results, the site, generated pages, version control, the journal's own state
EXCLUDES = ["/results/", "/site/", "/docs/", "/.git/", "/.journal/", "/.venv/", "/venv/",
            "__pycache__/", "*.pyc", "node_modules/"]


class ClusterError(JournalError):
    """The cluster could not be reached or cannot run what was asked."""


@dataclass(frozen=True)
class TaskStarted:
    """A task's first word: it runs, on ``node``."""

    node: str


@dataclass(frozen=True)
class TaskDone:
    """A task's last word: what became of the job, and its staged result folder packed."""

    outcome: Outcome
    packed: bytes = b""


def _mismatched(packages: dict[str, str]) -> list[str]:
    """Packages the key names whose installed version differs on this node."""
    from generator.plan.keys import package_version

    return [f"{p}: the key says {want}, this node has {package_version(p)}"
            for p, want in sorted(packages.items()) if package_version(p) != want]


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for p in sorted(folder.rglob("*")):
            tar.add(p, arcname=p.relative_to(folder).as_posix(), recursive=False)
    return buf.getvalue()


def _unpack(data: bytes, folder: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(folder, filter="data")
        else:  # Python before 3.10.12: only plain files and folders inside ``folder``
            for member in tar.getmembers():
                target = (folder / member.name).resolve()
                if (member.isfile() or member.isdir()) and target.is_relative_to(folder.resolve()):
                    tar.extract(member, folder)


@ray.remote(max_retries=0, num_returns="streaming")
def _task(job: Job, packages: dict[str, str]):
    """One experiment on a cluster node. Yields TaskStarted, then Stepped now and then,
    then TaskDone."""
    node = socket.gethostname()
    yield TaskStarted(node)
    wrong = _mismatched(packages)
    if wrong:
        yield TaskDone(Outcome(error="the cluster's packages differ from this machine's, so its "
                                     "result would not match the key: " + "; ".join(wrong)
                                     + f" (node {node}); install the same versions there"))
        return
    staging = Path(tempfile.mkdtemp(prefix="journal-ray-"))
    try:
        # the shipped journal is the task's working directory
        child = Child(replace(job, root=os.getcwd(), staging=str(staging)))
        latest: list[Stepped] = []

        def heard(stepped: Stepped) -> None:
            latest[:] = [latest[0].merged(stepped) if latest else stepped]

        while not child.finished():
            wait(child.waitables(), timeout=0.5)
            child.drain(heard)
            if latest:
                yield latest.pop()
        outcome = child.outcome()
        yield TaskDone(outcome, _pack(staging))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unreachable(address: str | None, timeout: float = 5.0) -> str | None:
    """Why nothing answers at a HOST:PORT or ray://HOST:PORT address (None: something does,
    or the address is not of that form, such as ``auto``)."""
    if not address or address == "auto":
        return None
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return None
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        return e.strerror or type(e).__name__
    return None


def node_problems(res: Resources, nodes: list[dict]) -> str | None:
    """Why no node of the cluster can ever run a job asking ``res`` (None when one can)."""
    want = {"GPU": res.gpus, "CPU": res.cpus or 1, "memory": res.memory or 0}
    for node in nodes:
        have = node.get("Resources", {})
        if node.get("Alive") and all(have.get(k, 0) >= v for k, v in want.items() if v):
            return None
    biggest = max((n.get("Resources", {}) for n in nodes if n.get("Alive")),
                  key=lambda r: (r.get("GPU", 0), r.get("CPU", 0)), default={})
    asked = ", ".join(f"{_shown(k, v)}" for k, v in want.items() if v)
    return (f"asks for {asked}; no node of the Ray cluster has that (the largest has "
            f"{_shown('CPU', biggest.get('CPU', 0))}, {_shown('GPU', biggest.get('GPU', 0))}, "
            f"{_shown('memory', biggest.get('memory', 0))})")


def _shown(kind: str, value: float) -> str:
    if kind == "memory":
        return f"{value / 2**30:.1f} GiB of memory"
    return f"{value:g} {kind}{'s' * (value != 1)}"


class RayBackend:
    name = "ray"

    def __init__(self, root: Path, address: str | None = None) -> None:
        self.root = Path(root)
        self.address = address
        self.flight: dict[Any, Request] = {}    # in flight: the task's stream -> its request
        self.started: set[str] = set()
        self.connected = False

    def _connect(self) -> None:
        if self.connected:
            return
        unreachable = _unreachable(self.address)
        if unreachable:  # Ray itself would retry for minutes
            raise ClusterError(f"could not reach the Ray cluster at {self.address}: {unreachable}\n"
                               "Is it running (`ray start --head` on the cluster's head node), and "
                               "is the address right (`auto`, HOST:6379 or ray://HOST:10001)?")
        env = {"working_dir": str(self.root), "excludes": EXCLUDES,
               "py_modules": [str(Path(generator.__file__).parent)]}
        try:
            ray.init(address=self.address, runtime_env=env, log_to_driver=False,
                     logging_level=logging.ERROR, namespace="journal", include_dashboard=False)
        except (ConnectionError, RuntimeError, ValueError, ImportError) as e:
            where = self.address or "a new local Ray instance"
            raise ClusterError(f"could not connect to the Ray cluster at {where}: {e}\n"
                               "Is it running (`ray start --head` on the cluster's head node), and "
                               "is the address right (`auto`, HOST:6379 or ray://HOST:10001)?") from None
        self.connected = True

    def check(self, asks: dict[str, Resources]) -> dict[str, tuple[str, str]]:
        self._connect()
        nodes = ray.nodes()
        out = {}
        for job, res in asks.items():
            why = node_problems(res, nodes)
            if why:
                out[job] = ("gpus" if res.gpus else "memory" if res.memory else "cpus", why)
        return out

    def submit(self, request: Request) -> None:
        self._connect()
        res = request.resources
        cpus = res.cpus or 1
        job = replace(request.job, threads=max(1, int(cpus)))
        options: dict[str, Any] = {"num_cpus": cpus, "name": f"journal:{job.name}"}
        if res.gpus:
            options["num_gpus"] = res.gpus
        if res.memory:
            options["memory"] = res.memory
        stream = _task.options(**options).remote(job, request.extra.get("packages", {}))
        self.flight[stream] = request

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        if not self.flight:
            return events
        ready, _ = ray.wait(list(self.flight), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self.flight), num_returns=len(self.flight), timeout=0)
        for stream in ready:
            self._read(stream, events)
        return events

    def _read(self, stream, events: list[Event]) -> None:
        """Everything a task has yielded so far."""
        request = self.flight[stream]
        job = request.job
        while True:
            try:
                item = ray.get(next(stream))
            except StopIteration:  # ended without a result (cannot happen unless Ray lost it)
                item = TaskDone(Outcome(error="the Ray task ended without a result", crashed=True))
            except ray.exceptions.RayError as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                item = TaskDone(Outcome(error=f"the Ray task was lost ({type(e).__name__}): {first}",
                                        crashed=True))
            if job.id not in self.started:
                self.started.add(job.id)
                events.append(Started(job.id, item.node if isinstance(item, TaskStarted) else ""))
            if isinstance(item, Stepped):
                events.append(Progress(job.id, item.step, item.total, item.points))
            elif isinstance(item, TaskDone):
                if item.packed:
                    _unpack(item.packed, Path(job.staging))
                del self.flight[stream]
                events.append(Finished(job.id, item.outcome))
                return
            ready, _ = ray.wait([stream], timeout=0)
            if not ready:
                return

    def cancel(self, job_id: str) -> None:
        for stream, request in list(self.flight.items()):
            if request.job.id == job_id:
                ray.cancel(stream, force=True)
                del self.flight[stream]

    def close(self) -> None:
        if not self.connected:
            return
        try:
            for stream in list(self.flight):
                ray.cancel(stream, force=True)
        finally:
            self.flight.clear()
            self.connected = False
            ray.shutdown()

"""Running one experiment: a job in, a staged result folder out.

A ``Job`` says what to run and where to write. ``Child`` runs it in a fresh
(spawned) worker process: the worker imports the experiment's module, calls the
function with its params and a run handle, and writes metrics, series, figures,
artifacts and its captured output into the job's staging folder. Whatever
happens in there (an exception, ``os._exit``, a segfault, an out-of-memory kill)
comes back as an outcome, never as a crash of the caller. The worker speaks
``generator.run.protocol``'s messages; its guards are ``generator.run.sandbox``.

Every backend (``generator.run.backends``) runs jobs through ``Child``: the local
backend on this machine, the Ray backend inside a Ray task on a cluster node.
Neither commits anything to the results store; the build does.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing as mp
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.run.protocol import Done, Failed, Made, Message, Stepped, Throttle

LOG_LIMIT = 1_000_000  # bytes of a run's output kept in log.txt (head and tail)
REAP_LIMIT = 5.0       # seconds to wait for a SIGKILLed worker to be reaped


@dataclass(frozen=True)
class Job:
    """One experiment run, as a worker process needs it (picklable)."""

    id: str                  # the run's key
    name: str                # the experiment's name, for process titles and messages
    root: str                # the journal's folder (on a cluster node: the shipped copy)
    module: str              # "experiments.makemore.neural"
    func: str                # "mlp"
    params: dict[str, Any]
    seed: int
    device: str
    quick: bool
    staging: str             # the folder the run writes into
    threads: int = 1
    scratch: str = ""        # the run's own temp dir, made and removed by the parent
    notebook: str = ""       # a notebook experiment: its path in the journal (module, func unused)
    checkpoints: str = ""    # the folder of this key's checkpoint ("" : none)


@dataclass(frozen=True)
class Outcome:
    """What became of a job: ``made`` when it finished, else ``error``."""

    made: Made | None = None
    error: str = ""
    crashed: bool = False    # died without reporting: the log's last lines say more


# -- inside the worker process -------------------------------------------------------

def _run(job: Job, send) -> int:
    """The worker process: run ``job``, sending :class:`Stepped` now and then, then
    :class:`Done` or :class:`Failed` through ``send``; the exit status to use."""
    from generator.run.sandbox import allowed_writes, guard_writes

    staging = Path(job.staging)
    log = open(staging / "log.txt", "wb", buffering=0)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
    threads = str(job.threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    root = job.root
    sys.path.insert(0, root)
    os.environ["MPLBACKEND"] = "Agg"
    sys.dont_write_bytecode = True
    scratch = job.scratch  # this run's own temp dir; the parent removes it
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    writable = [job.checkpoints] if job.checkpoints else []
    if job.checkpoints:
        Path(job.checkpoints).mkdir(parents=True, exist_ok=True)
    guard_writes(allowed_writes(str(staging), scratch) + writable)
    on_progress = Throttle(lambda step, total: send(Stepped(step, total, _new_points())))
    try:
        made = _run_notebook(job, on_progress) if job.notebook else _run_function(job, on_progress)
        sys.stdout.flush()
        sys.stderr.flush()
        send(Done(made))
        return 0
    except BaseException as e:  # noqa: BLE001 - every failure is reported, none escapes
        try:
            traceback.print_exc()  # the full traceback goes to the log
            sys.stderr.flush()
        except OSError:
            pass  # the log is on a full disk: the message below still gets through
        from generator.run.notebook import NotebookFailed

        message = "".join(traceback.format_exception_only(type(e), e)).strip()
        if isinstance(e, NotebookFailed):  # already says where: notebook, cell, source
            message = str(e)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            message += f"\n  the disk is full: the run could not write its output ({staging})"
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if f.filename.startswith(os.path.join(root, "experiments"))]
        if frames:
            f = frames[-1]
            message += f"\n  at {os.path.relpath(f.filename, root)}:{f.lineno} in {f.name}"
        send(Failed(message))
        return 1


def _new_points() -> dict[str, list[list[float]]]:
    from generator import current

    handle = current.bound()
    new_points = getattr(handle, "new_points", None)
    return new_points() if new_points is not None else {}


def _run_function(job: Job, on_progress) -> Made:
    import importlib

    from generator import current
    from generator.handle import RunHandle
    from generator.run.sandbox import device_name, resolve_device

    module = importlib.import_module(job.module)
    fn = getattr(module, job.func)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(job.threads)
    device = resolve_device(job.device)
    os.chdir(job.staging)  # relative writes land in the result folder
    handle = RunHandle(job.staging, seed=job.seed, device=device, quick=job.quick,
                       root=job.root, on_progress=on_progress,
                       checkpoints=job.checkpoints or None, key=job.id)
    handle.begin()
    current.bind(handle)  # generator.current_run() works in a function's helpers too
    start = time.perf_counter()
    returned = fn(handle, **job.params)
    seconds = time.perf_counter() - start
    info = handle.finish(returned)
    torch = sys.modules.get("torch")
    return Made.from_handle(info, {
        "torch": torch.__version__ if torch else None,
        "device": device,
        "device_name": device_name(device, torch),
        "node": socket.gethostname(),
        "threads": job.threads,
        "duration_s": round(seconds, 3),
        **handle.attempts(),
    })


def _run_notebook(job: Job, on_progress) -> Made:
    from generator.run.notebook import execute

    start = time.perf_counter()
    report, notebook = execute(job, on_progress)
    seconds = time.perf_counter() - start
    return Made.from_handle(report.info, {
        "torch": report.torch, "device": report.device, "device_name": report.device_name,
        "node": socket.gethostname(), "threads": job.threads, "duration_s": round(seconds, 3),
    }, notebook)


def _child_main(job: Job, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    try:
        os.setsid()  # a process group of its own: the parent ends it, children included, at once
    except OSError:
        pass
    from generator.run.sandbox import die_with_parent

    die_with_parent()
    code = 1
    try:
        code = _run(job, conn.send)
    finally:
        conn.close()
        # Leave now: a thread the experiment left running must not keep the worker alive
        # (the interpreter would wait for non-daemon threads before exiting).
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# -- the side that starts a worker -----------------------------------------------------

class Child:
    """One job running in its own spawned worker process."""

    def __init__(self, job: Job, ctx=None) -> None:
        """The spawned worker does not re-import the caller's ``__main__`` (it needs nothing from
        it; it would be the ``journal`` script, pytest, or inside a Ray worker Ray's own worker
        script: seconds of imports on a busy machine)."""
        ctx = ctx or mp.get_context("spawn")
        recv, send = ctx.Pipe(duplex=False)
        job = Job(**{**job.__dict__, "scratch": tempfile.mkdtemp(prefix="journal-run-")})
        self.job = job
        self.proc = ctx.Process(target=_child_main, args=(job, send), daemon=True,
                                name=f"journal-{job.name}")
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self.proc.start()
        finally:
            sys.modules["__main__"] = main
        send.close()
        self.conn = recv
        self.message: Done | Failed | None = None
        self.closed = False
        self.started = time.monotonic()

    def waitables(self) -> list:
        return [self.proc.sentinel] if self.closed else [self.conn, self.proc.sentinel]

    def drain(self, on_progress) -> None:
        """Read what the worker sent so far; each :class:`Stepped` goes to ``on_progress``."""
        if self.closed:
            return
        try:
            while self.conn.poll():
                msg: Message = self.conn.recv()
                if isinstance(msg, Stepped):
                    on_progress(msg)
                else:
                    self.message = msg
        except (EOFError, OSError):
            self.closed = True

    def finished(self) -> bool:
        return self.closed or not self.proc.is_alive()

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (it is the leader) and the worker itself,
        then reap it with a bound (nothing may hold the build up) and drop its temp dir.

        The worker is not reaped yet, so its pid (the group's id) cannot have been reused."""
        if self.proc.pid is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # the worker had not called setsid yet, or the group is gone
            if self.proc.exitcode is None:
                with contextlib.suppress(ProcessLookupError, OSError, ValueError):
                    self.proc.kill()
        self.proc.join(REAP_LIMIT)
        shutil.rmtree(self.job.scratch, ignore_errors=True)

    def outcome(self) -> Outcome:
        """Once finished: end what it started, read what is left, say what happened."""
        self.kill()  # it has reported or died: what it started goes with it
        self.drain(lambda stepped: None)  # a message may still wait in the pipe
        msg, code = self.message, self.proc.exitcode
        if isinstance(msg, Done):  # reported: the exit itself does not matter
            return Outcome(made=msg.made)
        if isinstance(msg, Failed):
            return Outcome(error=msg.message)
        if _disk_full(Path(self.job.staging)):
            return Outcome(error=f"the worker stopped before reporting a result: the disk holding "
                                 f"{self.job.staging} is full", crashed=True)
        return Outcome(error=describe_exit(code), crashed=True)


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path).free < 1 << 20
    except OSError:
        return False


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        why = {"SIGKILL": " (killed: out of memory?)", "SIGSEGV": " (segmentation fault)"}
        return f"the worker died from {name}{why.get(name, '')}"
    return (f"the worker exited with status {code} before reporting a result "
            "(os._exit or sys.exit in the experiment?)")


def cap_log(path: Path) -> None:
    """Keep the head and tail of a very long log."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size <= LOG_LIMIT:
        return
    with open(path, "rb") as f:
        head = f.read(LOG_LIMIT // 5)
        f.seek(size - LOG_LIMIT * 4 // 5)
        tail = f.read()
    note = f"\n[... {size - len(head) - len(tail):,} bytes of output left out ...]\n".encode()
    path.write_bytes(head + note + tail)


def tail(path: Path, n: int) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])

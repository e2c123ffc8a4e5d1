"""Running one experiment: a job in, a staged result folder out.

A ``Job`` says what to run and where to write. ``Child`` runs it in a fresh
(spawned) worker process: the worker imports the experiment's module, calls the
function with its params and a run handle, and writes metrics, series, figures,
artifacts and its captured output into the job's staging folder. Whatever
happens in there (an exception, ``os._exit``, a segfault, an out-of-memory kill)
comes back as an outcome, never as a crash of the caller.

Every backend (``generator.backends``) runs jobs through ``Child``: the local
backend on this machine, the Ray backend inside a Ray task on a cluster node.
Neither commits anything to the results store; the build does.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing as mp
import os
import platform
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


@dataclass(frozen=True)
class Outcome:
    """What became of a job: ``info`` when it finished, else ``error``."""

    info: dict[str, Any] | None = None
    error: str = ""
    crashed: bool = False    # died without reporting: the log's last lines say more


# -- inside the worker process -------------------------------------------------------

def _die_with_parent() -> None:
    """Linux: end this worker if the process that started it is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_WRITE_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "shutil.rmtree", "os.truncate",
                 "os.symlink", "os.link", "os.chmod", "os.chown", "os.utime", "shutil.copyfile",
                 "shutil.move"}


def _guard_writes(allowed: list[str]) -> None:
    """Refuse (PermissionError) a write outside the result folder and the temp dir.

    A guard against accidents in the author's own code, not a sandbox: the audit hook sees
    Python's own file operations (``open``, ``os.remove``, ``shutil`` ...), resolving paths
    from the working directory. It does not see writes made by other processes
    (``subprocess``, ``os.system``, ``os.exec*``), by C code (ctypes, extensions such as
    ``sqlite3``), or relative to a directory descriptor (``dir_fd=``)."""
    roots = [os.path.realpath(a) for a in allowed]

    def inside(path) -> bool:
        if isinstance(path, int):
            return True  # an already-open file descriptor
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return real == os.devnull or any(real == r or real.startswith(r + os.sep) for r in roots)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            paths = [path] if writing else []
        elif event in _WRITE_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            if event in ("os.chmod", "os.chown", "os.utime", "os.truncate", "shutil.rmtree",
                         "os.remove", "os.mkdir", "os.rmdir"):
                paths = paths[:1]
        else:
            return
        for p in paths:
            if p is not None and not inside(p):
                raise PermissionError(f"experiments write only inside their result folder; "
                                      f"refused to write {os.fsdecode(p)!r} (the journal's write "
                                      "guard stops accidental writes from Python code; it is not "
                                      "a sandbox. JOURNAL_WRITABLE allows more folders)")

    sys.addaudithook(hook)


def _resolve_device(requested: str) -> str:
    if requested == "cpu":
        return "cpu"
    torch = sys.modules.get("torch")
    if requested == "auto" and torch is None:
        return "cpu"  # the experiment does not use torch
    if torch is None:
        import torch
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if requested in ("auto", "mps") and mps is not None and mps.is_available():
        return "mps"
    if requested != "auto":
        raise RuntimeError(f"device '{requested}' was asked for but is not available here")
    return "cpu"


def _device_name(device: str, torch) -> str:
    if device == "cuda" and torch is not None:
        return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine()


def _run(job: Job, send) -> int:
    """The worker process: run ``job``, report ("progress", step, total)* then
    ("done", info) or ("error", message) through ``send``; the exit status to use."""
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
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    extra = [p for p in os.environ.get("JOURNAL_WRITABLE", "").split(os.pathsep) if p]
    allowed = [str(staging), scratch, "/dev/shm", home_cache, *extra,
               os.environ.get("MPLCONFIGDIR") or os.path.expanduser("~/.config/matplotlib")]
    _guard_writes(allowed)  # library caches (matplotlib's font list) may still be written
    try:
        if job.notebook:
            info = _run_notebook(job, send)
            send(("done", info))
            return 0
        import importlib

        from generator import notebook
        from generator.handle import RunHandle

        module = importlib.import_module(job.module)
        fn = getattr(module, job.func)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(job.threads)
        device = _resolve_device(job.device)
        on_progress = _throttled(send)
        os.chdir(staging)  # relative writes land in the result folder
        handle = RunHandle(staging, seed=job.seed, device=device, quick=job.quick,
                           root=root, on_progress=on_progress)
        handle.begin()
        notebook._RUN = handle  # generator.current_run() works in a function's helpers too
        start = time.perf_counter()
        returned = fn(handle, **job.params)
        seconds = time.perf_counter() - start
        info = handle.finish(returned)
        torch = sys.modules.get("torch")
        info["provenance"] = {
            "torch": torch.__version__ if torch else None,
            "device": device,
            "device_name": _device_name(device, torch),
            "node": socket.gethostname(),
            "threads": job.threads,
            "duration_s": round(seconds, 3),
        }
        sys.stdout.flush()
        sys.stderr.flush()
        send(("done", info))
        return 0
    except BaseException as e:  # noqa: BLE001 - every failure is reported, none escapes
        try:
            traceback.print_exc()  # the full traceback goes to the log
            sys.stderr.flush()
        except OSError:
            pass  # the log is on a full disk: the message below still gets through
        message = "".join(traceback.format_exception_only(type(e), e)).strip()
        if type(e).__name__ == "NotebookFailed":  # already says where: notebook, cell, source
            message = str(e)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            message += f"\n  the disk is full: the run could not write its output ({staging})"
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if f.filename.startswith(os.path.join(root, "experiments"))]
        if frames:
            f = frames[-1]
            message += f"\n  at {os.path.relpath(f.filename, root)}:{f.lineno} in {f.name}"
        send(("error", message))
        return 1


def _throttled(send):
    """Progress as the run reports it, passed on at most ten times a second (and at the end)."""
    last = [0.0]

    def on_progress(step: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1 or (total is not None and step >= total):
            last[0] = now
            send(("progress", step, total))

    return on_progress


def _run_notebook(job: Job, send) -> dict[str, Any]:
    from generator.notebook import execute

    start = time.perf_counter()
    info = execute(job, _throttled(send))
    seconds = time.perf_counter() - start
    info["provenance"] = {**info.pop("kernel"), "node": socket.gethostname(),
                          "threads": job.threads, "duration_s": round(seconds, 3)}
    return info


def _child_main(job: Job, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    try:
        os.setsid()  # a process group of its own: the parent ends it, children included, at once
    except OSError:
        pass
    _die_with_parent()
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
        self.message: tuple | None = None
        self.closed = False
        self.started = time.monotonic()

    def waitables(self) -> list:
        return [self.proc.sentinel] if self.closed else [self.conn, self.proc.sentinel]

    def drain(self, on_progress) -> None:
        """Read what the worker sent so far; progress goes to ``on_progress(step, total)``."""
        if self.closed:
            return
        try:
            while self.conn.poll():
                msg = self.conn.recv()
                if msg[0] == "progress":
                    on_progress(msg[1], msg[2])
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
        self.drain(lambda step, total: None)  # a message may still wait in the pipe
        msg, code = self.message, self.proc.exitcode
        if msg is not None and msg[0] == "done":  # reported: the exit itself does not matter
            return Outcome(info=msg[1])
        if msg is not None and msg[0] == "error":
            return Outcome(error=msg[1])
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

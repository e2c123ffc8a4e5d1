"""Running experiments: each in its own worker process, several at once.

A worker imports the experiment's module, calls the function with its params and
a run handle, and writes into a staging folder. The parent moves the folder into
the store only when the worker reported success; an exception, ``os._exit``, a
segfault, an out-of-memory kill or a timeout is a failed run, never a crashed
build, and never touches the last good result.
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing as mp
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from enum import Enum
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from generator.plan import Run
from generator.store import Result

LOG_LIMIT = 1_000_000  # bytes of a run's output kept in log.txt (head and tail)
REAP_LIMIT = 5.0       # seconds to wait for a SIGKILLed worker to be reaped


class Status(str, Enum):
    RAN = "ran"
    CACHED = "cached"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    run: Run
    status: Status
    result: Result | None = None
    error: str = ""          # the last lines of the failure
    log: Path | None = None  # the full log of a failed run
    seconds: float = 0.0


class Interrupted(Exception):
    """Ctrl-C: workers were stopped, nothing half-written was kept."""


def threads_per_worker(jobs: int, runs: int, cores: int | None = None) -> int:
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, min(jobs, runs)))


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, text=True,
                             capture_output=True, timeout=10)
        if out.returncode != 0:
            return "none"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "experiments"], cwd=root,
                               text=True, capture_output=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "none"


# -- the worker process --------------------------------------------------------

def _die_with_parent() -> None:
    """Linux: end this worker if the build that started it is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_WRITE_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "shutil.rmtree", "os.truncate",
                 "os.symlink", "os.link", "os.chmod", "os.chown", "os.utime", "shutil.copyfile",
                 "shutil.move"}


def _guard_writes(allowed: list[str]) -> None:
    """Refuse (PermissionError) any write outside the result folder and the temp dir.

    An audit hook sees every file operation Python code makes and cannot be removed;
    C extensions writing on their own are not covered."""
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
                                      f"refused to write {os.fsdecode(p)!r}")

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


def _worker(job: dict[str, Any], conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    try:
        os.setsid()  # a process group of its own: the parent ends it, children included, at once
    except OSError:
        pass
    _die_with_parent()
    staging = Path(job["staging"])
    log = open(staging / "log.txt", "wb", buffering=0)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
    threads = str(job["threads"])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    root = job["root"]
    sys.path.insert(0, root)
    os.environ["MPLBACKEND"] = "Agg"
    sys.dont_write_bytecode = True
    scratch = job["scratch"]  # this run's own temp dir; the parent removes it
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    extra = [p for p in os.environ.get("JOURNAL_WRITABLE", "").split(os.pathsep) if p]
    allowed = [str(staging), scratch, "/dev/shm", home_cache, *extra,
               os.environ.get("MPLCONFIGDIR") or os.path.expanduser("~/.config/matplotlib")]
    _guard_writes(allowed)  # library caches (matplotlib's font list) may still be written
    try:
        import importlib

        from generator.handle import RunHandle

        module = importlib.import_module(job["module"])
        fn = getattr(module, job["func"])
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(job["threads"])
        device = _resolve_device(job["device"])
        last = [0.0]

        def on_progress(step: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.1 or (total is not None and step >= total):
                last[0] = now
                conn.send(("progress", step, total))

        os.chdir(staging)  # relative writes land in the result folder
        handle = RunHandle(staging, seed=job["seed"], device=device, quick=job["quick"],
                           root=root, on_progress=on_progress)
        handle.seed_everything()
        start = time.perf_counter()
        returned = fn(handle, **job["params"])
        seconds = time.perf_counter() - start
        info = handle.finish(returned)
        torch = sys.modules.get("torch")
        info["provenance"] = {
            "torch": torch.__version__ if torch else None,
            "device": device,
            "device_name": _device_name(device, torch),
            "threads": job["threads"],
            "duration_s": round(seconds, 3),
        }
        sys.stdout.flush()
        sys.stderr.flush()
        conn.send(("done", info))
        code = 0
    except BaseException as e:  # noqa: BLE001 - every failure is reported, none escapes
        traceback.print_exc()  # the full traceback goes to the log
        sys.stderr.flush()
        message = "".join(traceback.format_exception_only(type(e), e)).strip()
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if f.filename.startswith(os.path.join(root, "experiments"))]
        if frames:
            f = frames[-1]
            message += f"\n  at {os.path.relpath(f.filename, root)}:{f.lineno} in {f.name}"
        conn.send(("error", message))
        code = 1
    finally:
        conn.close()
    # Leave now: a thread the experiment left running must not keep the worker alive
    # (the interpreter would wait for non-daemon threads before exiting).
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _device_name(device: str, torch) -> str:
    if device == "cuda" and torch is not None:
        return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine()


# -- the parent ---------------------------------------------------------------------

@dataclass
class _Active:
    run: Run
    proc: Any
    conn: Any
    staging: Path
    started: float
    scratch: str
    message: tuple | None = None


class Executor:
    """Runs a list of ``Run`` values with at most ``jobs`` workers."""

    def __init__(self, store_for, root: Path, logs: Path, *, jobs: int, reporter) -> None:
        self.store_for = store_for  # Run -> Store
        self.root = root
        self.logs = logs
        self.jobs = max(1, jobs)
        self.reporter = reporter
        self.ctx = mp.get_context("spawn")
        self.commit = git_commit(root)

    def run_all(self, runs: list[Run]) -> list[Outcome]:
        pending = list(runs)
        active: dict[Any, _Active] = {}
        outcomes: list[Outcome] = []
        threads = threads_per_worker(self.jobs, len(runs))
        try:
            while pending or active:
                while pending and len(active) < self.jobs:
                    run = pending.pop(0)
                    a = self._start(run, threads)
                    active[a.conn] = a
                    self.reporter.start(run)
                self._poll(active, outcomes)
        except BaseException as e:  # Ctrl-C or an error here: no worker outlives the build
            for a in active.values():
                _kill_group(a.proc)
            for a in active.values():
                _reap(a)
                self.store_for(a.run).discard(a.staging)
            if isinstance(e, KeyboardInterrupt):
                raise Interrupted() from None
            raise
        return outcomes

    def _start(self, run: Run, threads: int) -> _Active:
        store = self.store_for(run)
        staging = store.staging(run)
        module, _, func = run.inputs["function"].rpartition(".")
        job = {"root": str(self.root), "module": module, "func": func, "params": run.params,
               "seed": run.seed, "device": run.device, "quick": run.quick,
               "staging": str(staging), "threads": threads,
               "scratch": tempfile.mkdtemp(prefix="journal-run-")}
        recv, send = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=_worker, args=(job, send), daemon=True,
                                name=f"journal-{run.name}")
        proc.start()
        send.close()
        return _Active(run, proc, recv, staging, time.monotonic(), job["scratch"])

    def _poll(self, active: dict, outcomes: list[Outcome]) -> None:
        sentinels = {a.proc.sentinel: a for a in active.values()}
        ready = wait(list(active) + list(sentinels), timeout=0.25)
        finished = set()
        for obj in ready:
            if obj in active:
                a = active[obj]
                try:
                    while a.conn.poll():
                        msg = a.conn.recv()
                        if msg[0] == "progress":
                            self.reporter.progress(a.run, msg[1], msg[2])
                        else:
                            a.message = msg
                except (EOFError, OSError):
                    finished.add(a.conn)
            else:
                finished.add(sentinels[obj].conn)
        now = time.monotonic()
        for conn, a in list(active.items()):
            if conn not in finished and now - a.started > a.run.timeout:
                _kill_group(a.proc)
                _reap(a)
                outcomes.append(self._fail(a, f"timed out after {_fmt_duration(a.run.timeout)} "
                                              "(raise `timeout:` in the front matter if it needs longer)"))
                del active[conn]
        for conn in finished:
            a = active.pop(conn, None)
            if a is None:
                continue
            _kill_group(a.proc)  # it has reported or died: what it started goes with it
            _reap(a)
            try:  # a message may still wait in the pipe
                while a.conn.poll():
                    msg = a.conn.recv()
                    if msg[0] != "progress":
                        a.message = msg
            except (EOFError, OSError):
                pass
            outcomes.append(self._finish(a))

    def _finish(self, a: _Active) -> Outcome:
        msg = a.message
        if msg is not None and msg[0] == "done":  # reported: the exit itself does not matter
            info = msg[1]
            _cap_log(a.staging / "log.txt")
            prov = info.pop("provenance")
            prov.update({
                "python": platform.python_version(),
                "platform": platform.platform(terse=True),
                "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "git_commit": self.commit,
                "quick": a.run.quick,
            })
            meta = {"function": a.run.function, "inputs": a.run.inputs, **info,
                    "provenance": prov}
            try:
                result = self.store_for(a.run).commit(a.run, a.staging, meta)
            except OSError as e:
                return self._fail(a, f"could not save the result: {e}")
            outcome = Outcome(a.run, Status.RAN, result, seconds=prov["duration_s"])
            self.reporter.finish(outcome)
            return outcome
        if msg is not None and msg[0] == "error":
            return self._fail(a, msg[1], with_output=False)
        code = a.proc.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            why = {"SIGKILL": " (killed: out of memory?)", "SIGSEGV": " (segmentation fault)"}
            return self._fail(a, f"the worker died from {name}{why.get(name, '')}")
        return self._fail(a, f"the worker exited with status {code} before reporting a result "
                             "(os._exit or sys.exit in the experiment?)")

    def _fail(self, a: _Active, error: str, with_output: bool = True) -> Outcome:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{a.run.name}-{a.run.short}.log"
        src = a.staging / "log.txt"
        try:
            _cap_log(src)
            shutil.copyfile(src, log)
        except OSError:
            log.write_text("(no output)\n")
        tail = _tail(log, 4) if with_output else ""  # a crash's last words, if any
        self.store_for(a.run).discard(a.staging)
        outcome = Outcome(a.run, Status.FAILED, error=error + (f"\n{tail}" if tail else ""), log=log,
                          seconds=time.monotonic() - a.started)
        self.reporter.finish(outcome)
        return outcome


def _kill_group(proc) -> None:
    """SIGKILL a worker's whole process group (it is the leader) and the worker itself.

    The worker is not reaped yet, so its pid (the group's id) cannot have been reused."""
    if proc.pid is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the worker had not called setsid yet, or the group is gone
    if proc.exitcode is None:
        try:
            proc.kill()
        except (ProcessLookupError, OSError, ValueError):
            pass


def _reap(a: _Active) -> None:
    """Join a killed worker with a bound (nothing may hold the build up), drop its temp dir."""
    a.proc.join(REAP_LIMIT)
    shutil.rmtree(a.scratch, ignore_errors=True)


def _tail(path: Path, n: int) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _cap_log(path: Path) -> None:
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


def _fmt_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m" if seconds % 60 == 0 else f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"

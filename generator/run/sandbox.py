"""What a run may do to the machine it runs on: the worker's (and a notebook kernel's) guards.

- :func:`die_with_parent`: the process ends when the one that started it is killed;
- :func:`guard_writes`: Python's own file writes outside the run's folders are refused
  (a guard against accidents, not a sandbox);
- :func:`allowed_writes`: which folders those are, the same for a function and a notebook;
- :func:`resolve_device` and :func:`device_name`: the device a run asked for, as found here.
"""

from __future__ import annotations

import os
import platform
import signal
import sys


def allowed_writes(staging: str, scratch: str, writable: str | None = None) -> list[str]:
    """Where a run may write: its result folder, its temp dir, shared memory, library caches
    (matplotlib's font list) and the folders in ``JOURNAL_WRITABLE`` (``writable``, as that
    variable holds them; default: this process's)."""
    if writable is None:
        writable = os.environ.get("JOURNAL_WRITABLE", "")
    extra = [p for p in writable.split(os.pathsep) if p]
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return [staging, scratch, "/dev/shm", home_cache, *extra,
            os.environ.get("MPLCONFIGDIR") or os.path.expanduser("~/.config/matplotlib")]


def die_with_parent() -> None:
    """Linux: end this worker if the process that started it is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


WRITE_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "shutil.rmtree", "os.truncate",
                 "os.symlink", "os.link", "os.chmod", "os.chown", "os.utime", "shutil.copyfile",
                 "shutil.move"}


def guard_writes(allowed: list[str]) -> None:
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
        elif event in WRITE_EVENTS:
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


def resolve_device(requested: str) -> str:
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


def device_name(device: str, torch) -> str:
    if device == "cuda" and torch is not None:
        return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine()

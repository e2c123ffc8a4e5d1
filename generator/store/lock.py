"""The journal's lock: two builds of one journal (or ``journal serve``'s rebuilds) never
interleave the results store, ``docs/`` or the site.

The lock is ``.journal/lock``, held with ``flock`` for as long as the build runs; it
holds a line saying who holds it, for the message another build prints while it waits.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from generator.errors import LockBusy, StoreWriteError
from generator.store.results import write_failure

LOCK = Path(".journal") / "lock"


@contextlib.contextmanager
def locked(project: Path, *, wait: bool = True,
           on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock of the journal at ``project``; with ``wait=False`` another build that
    holds it is an error (LockBusy), else ``on_wait(holder)`` is called and the lock awaited."""
    lock = project / LOCK
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StoreWriteError(write_failure(lock, e)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another build"
            if not wait:
                raise LockBusy(f"the results store is in use by {holder}; "
                               "try again when it finishes (or drop --no-wait to wait)") from None
            if on_wait:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)

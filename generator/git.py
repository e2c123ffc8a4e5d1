"""The one way the journal runs git: in a folder, with a time limit, never raising for a
missing git unless asked to (then :class:`GitError`, exit 1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.errors import JournalError


class GitError(JournalError):
    """git is missing or a git command the journal needs failed: exit 1."""


def git(root: Path, *args: str, check: bool = False, timeout: float = 120,
        why: str = "the journal") -> subprocess.CompletedProcess:
    """``git ARGS`` in ``root``. ``check``: a failure raises GitError with git's message.
    ``why`` says what needed git, for the message when it is not installed."""
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise GitError(f"git is not installed: {why} needs it") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took longer than {timeout:g}s") from None
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def quiet(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess | None:
    """``git ARGS``, or None when git is missing, times out or cannot start."""
    try:
        return git(root, *args, timeout=timeout)
    except (GitError, OSError):
        return None


def commit(root: Path, dirty_when_changed: str = "experiments") -> str:
    """The working tree's commit (12 digits), ``+dirty`` when ``dirty_when_changed`` has
    changes git does not have; ``none`` outside a repository."""
    head = quiet(root, "rev-parse", "--short=12", "HEAD", timeout=10)
    if head is None or head.returncode != 0:
        return "none"
    status = quiet(root, "status", "--porcelain", "--", dirty_when_changed, timeout=10)
    dirty = bool(status is not None and status.stdout.strip())
    return head.stdout.strip() + ("+dirty" if dirty else "")


def added_commits(folder: Path, suffix: str) -> dict[str, str]:
    """For every file under ``folder`` whose path ends with ``suffix``, the last commit that
    added it (paths relative to ``folder``): one ``git log`` for the whole folder."""
    proc = quiet(folder, "log", "--no-renames", "--diff-filter=A", "--relative", "--name-only",
                 "--format=%x00%H", "--", ".")
    added: dict[str, str] = {}
    commit_id = ""
    for line in proc.stdout.splitlines() if proc is not None and proc.returncode == 0 else ():
        if line.startswith("\0"):
            commit_id = line[1:]
        elif line.endswith(suffix) and commit_id:
            added.setdefault(line, commit_id)   # newest first: the last time it was added
    return added


def user_name() -> str:
    """git's ``user.name``, or ""."""
    proc = quiet(Path.cwd(), "config", "user.name", timeout=10)
    return proc.stdout.strip() if proc is not None and proc.returncode == 0 else ""

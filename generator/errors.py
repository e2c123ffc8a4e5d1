"""The journal's exceptions. ``cli.py`` alone turns them into exit codes."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


class JournalError(Exception):
    """Base of every error the journal reports to its user without a traceback (exit 1
    unless a subclass says otherwise)."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what was expected."""

    path: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (a NUL, an escape sequence) are
    written as Python escapes, as ``repr`` would; line breaks and tabs stay."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def suggest(word: str, options) -> str:
    """A "did you mean" for a misspelt name, or nothing."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class InputError(JournalError):
    """Bad input (front matter, config, a reference): exit 2. Holds every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [str(p) for p in self.problems]
        if len(lines) > 1:
            lines.append(f"{len(lines)} problems found; nothing was run or written.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Stale:
    """One result a frozen build would have had to run, and why."""

    label: str               # "posts/week-1.md:mlp"
    function: str            # "makemore.mlp"
    state: str               # "stale", "missing", ...
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.label} ({self.function}): {self.state}: {'; '.join(self.reasons)}"


class StaleResults(JournalError):
    """``--frozen`` found results that would have to run: exit 1. ``runs`` lists them."""

    def __init__(self, runs: list[Stale], advice: str = "") -> None:
        self.runs = tuple(runs)
        super().__init__("--frozen: these results would have to run:\n  "
                         + "\n  ".join(str(r) for r in self.runs) + (f"\n{advice}" if advice else ""))


class RunFailed(JournalError):
    """One or more experiments failed (after all others finished): exit 1."""


class ClaimFailed(JournalError):
    """A ``{{ check }}`` in a post does not hold for the results: exit 1."""


class CorruptStore(JournalError):
    """A file of the results store cannot be read as what it should be: exit 1, naming it."""

    def __init__(self, message: str, why: str | None = None) -> None:
        super().__init__(message)
        self.why = why or message  # the damage alone, without where and the fix


class StoreWriteError(JournalError):
    """The results store cannot be written (disk full, read-only): exit 1, naming the path."""


class LockBusy(JournalError):
    """Another build holds the journal (``--no-wait``): exit 1."""


class SiteError(JournalError):
    """mkdocs refused to build the site."""

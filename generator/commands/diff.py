"""``journal diff [REV]``: how the numbers the posts use changed since a git revision.

For each experiment of each post, "new" is the result the post uses now (the
current plan's key, read from ``results/`` in the working tree) and "old" is the
result that ``results/index.json`` at REV named for the same ``post:experiment``,
read from git at REV. Nothing is run and nothing is written.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import git
from generator.context import Journal
from generator.errors import InputError, Problem


@dataclass(frozen=True)
class Change:
    experiment: str            # "week-1/mlp"
    metric: str
    old: Any                   # None: absent on that side
    new: Any

    @property
    def delta(self) -> float | None:
        if _number(self.old) and _number(self.new):
            return self.new - self.old
        return None

    @property
    def relative(self) -> float | None:
        d = self.delta
        if d is None or self.old == 0:
            return None
        return d / abs(self.old)


@dataclass(frozen=True)
class Diff:
    rev: str                   # as given
    commit: str                # what it resolved to
    changes: tuple[Change, ...]
    compared: int              # experiments with a result on both sides
    notes: tuple[str, ...]     # experiments missing on one side


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return git.git(root, *args, timeout=60, why="`journal diff` (it reads results at a git revision)")


def _resolve(root: Path, rev: str) -> str:
    if _git(root, "rev-parse", "--is-inside-work-tree").returncode != 0:
        raise InputError(Problem(str(root), None, None, "is not in a git repository, so there is no "
                                                        "revision to compare with"))
    proc = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if proc.returncode != 0:
        raise InputError(Problem("command line", None, "REV",
                                 f"'{rev}' is not a commit of this repository (try HEAD, HEAD~1, "
                                 "a branch, a tag or a commit hash)"))
    return proc.stdout.strip()


class _Revision:
    """The results store as committed at one revision, read through git."""

    def __init__(self, root: Path, commit: str) -> None:
        self.root, self.commit = root, commit
        listing = _git(root, "ls-tree", "-r", "--name-only", commit, "--", "results/")
        self.folders: dict[str, str] = {}          # key16 -> "results/<function>/<key16>"
        for path in listing.stdout.splitlines():
            parts = path.split("/")
            if len(parts) == 4 and parts[0] == "results" and parts[3] == "metrics.json":
                self.folders.setdefault(parts[2], "/".join(parts[:3]))

    def _json(self, rel: str) -> Any:
        proc = _git(self.root, "show", f"{self.commit}:./{rel}")
        if proc.returncode != 0:
            return None
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError:
            return None

    def index(self) -> dict[str, str]:
        data = self._json("results/index.json")
        return data if isinstance(data, dict) else {}

    def metrics(self, key: str) -> dict[str, Any] | None:
        folder = self.folders.get(key[:16])
        if folder is None:
            return None
        data = self._json(f"{folder}/metrics.json")
        return data if isinstance(data, dict) else None


def diff(root: Path, rev: str = "HEAD") -> Diff:
    root = root.resolve()
    commit = _resolve(root, rev)
    journal = Journal.open(root)
    posts, the_plan = journal.read()
    slugs = {p.rel: p.slug for p in posts}
    then = _Revision(root, commit)
    index = then.index()
    changes: list[Change] = []
    notes: list[str] = []
    compared = 0
    for post_rel, runs in the_plan.by_post.items():
        for name, run in runs.items():
            label = f"{slugs[post_rel]}/{name}"
            result = journal.store.load(run)
            new = result.metrics if result is not None else None
            old_key = index.get(run.label)
            old = then.metrics(old_key) if old_key else None
            if old is None and new is None:
                notes.append(f"{label}: no result at {rev} and none now")
                continue
            if old is None:
                notes.append(f"{label}: no result at {rev}" if not old_key else
                             f"{label}: the result {rev} used ({old_key[:12]}) is not in git at {rev}")
            if new is None:
                notes.append(f"{label}: no result now (run `journal build`)")
            if old is None or new is None:
                changes += [Change(label, m, (old or {}).get(m), (new or {}).get(m))
                            for m in sorted(set(old or {}) | set(new or {}))]
                continue
            compared += 1
            for metric in sorted(set(old) | set(new)):
                before, after = old.get(metric), new.get(metric)
                if metric not in old or metric not in new or before != after \
                        or type(before) is not type(after):
                    changes.append(Change(label, metric, before, after))
    return Diff(rev, commit, tuple(changes), compared, tuple(notes))


def fmt_value(v: Any) -> str:
    if v is None:
        return "—"
    if _number(v):
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    return json.dumps(v) if isinstance(v, str) else str(v)


def fmt_change(c: Change) -> str:
    if c.old is None:
        return "added"
    if c.new is None:
        return "removed"
    d = c.delta
    if d is None:
        return "changed"
    text = f"{d:+.4g}"
    r = c.relative
    return f"{text} ({r:+.2%})" if r is not None else text


def report(d: Diff) -> None:
    """Print the changes as a table (or that there are none)."""
    from rich.table import Table

    from generator.console import console, out

    for note in d.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False)
    if not d.changes:
        out.print(f"no changes: {d.compared} experiment{'s' * (d.compared != 1)} compared with "
                  f"{d.rev} ({d.commit[:12]})")
        return
    table = Table("experiment", "metric", "old", "new", "change", box=None, pad_edge=False,
                  title=f"metrics now vs {d.rev} ({d.commit[:12]})", title_justify="left")
    for c in d.changes:
        table.add_row(c.experiment, c.metric, fmt_value(c.old), fmt_value(c.new), fmt_change(c))
    out.print(table)

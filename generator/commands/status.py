"""``journal status``: each experiment of each post (or of the posts named) as fresh, stale,
missing, corrupt or frozen, and what changed; an experiment running now (from another
terminal's build) with its step, elapsed time, ETA and latest logged values, and one that
stopped with a checkpoint with where it will resume."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.context import Journal
from generator.plan.freshness import State, state
from generator.plan.model import Run
from generator.source.posts import select_posts


@dataclass(frozen=True)
class StatusLine:
    run: Run
    state: State
    reasons: tuple[str, ...]
    running: Any = None      # generator.run.live.Running: a build runs it now
    resumable: Any = None    # generator.store.checkpoints.Resumable: it stopped with a checkpoint


def status(root: Path, posts: tuple[str, ...] = ()) -> list[StatusLine]:
    """Each experiment of the named posts (default: all) with its state and what changed."""
    journal = Journal.open(root)
    every, the_plan = journal.read()
    chosen = {p.rel for p in select_posts(every, posts, journal.root)}
    journal.store.index()  # a damaged index is reported here too
    from generator.run.live import running
    from generator.store import checkpoints

    now, saved = running(journal.live), checkpoints.every(journal.checkpoints)
    out = []
    for rel, post_runs in the_plan.by_post.items():
        if rel not in chosen:
            continue
        for run in (r for first in post_runs.values() for r in the_plan.replicas(first)):
            found, reasons, _ = state(journal.store, run, check_files=True)
            out.append(StatusLine(run, found, tuple(reasons), now.get(run.key), saved.get(run.key)))
    return out


def report(lines: list[StatusLine], explain: bool) -> None:
    """Print each line (with what changed, under ``explain``); CorruptStore if one is corrupt."""
    from rich.markup import escape

    from generator.console import out
    from generator.errors import CorruptStore
    from generator.store import folder_name

    colour = {State.FRESH: "green", State.STALE: "yellow", State.MISSING: "red", State.CORRUPT: "red",
              State.FROZEN: "cyan"}
    width = max((len(line.run.label) for line in lines), default=0)
    for line in lines:
        r = line.run
        out.print(f"[{colour[line.state]}]{line.state.value:8}[/] {r.label:<{width}}  "
                  f"{r.function} [dim]{r.short}[/]", highlight=False)
        if line.running is not None or line.resumable is not None:
            out.print(f"           [dim]-[/] {escape(_underway(line))}", highlight=False)
        if explain or line.state is State.CORRUPT:
            reasons = list(line.reasons) if line.state is not State.FRESH else []
            if explain:
                reasons += [f"not followed (the module it names is not a literal): {u}"
                            for u in r.unfollowed]
            for reason in reasons:
                out.print(f"           [dim]-[/] {escape(reason)}", highlight=False)
    counts = {s: sum(1 for x in lines if x.state is s) for s in State}
    out.print(", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "no experiments")
    if counts[State.CORRUPT]:
        bad = [f"results/{folder_name(x.run.function)}/{x.run.key[:16]} ({x.run.name})" for x in lines
               if x.state is State.CORRUPT]
        raise CorruptStore("corrupt stored results: " + ", ".join(bad)
                           + "; `journal build --rerun NAME` replaces one")


def _underway(line: StatusLine) -> str:
    from generator.numbers import fmt_duration

    def at(step: int, total: int | None) -> str:
        return f"step {step:,}/{total:,}" if total else f"step {step:,}"

    if line.running is not None:
        r = line.running
        eta = f", ETA {fmt_duration(r.eta_s, compact=True)}" if r.eta_s is not None else ""
        latest = ", ".join(f"{k} {v:.4g}" for k, v in sorted(r.latest.items()))
        return (f"running: {at(r.step, r.total)}, {fmt_duration(r.elapsed_s, compact=True)} "
                f"elapsed{eta}" + (f"; latest {latest}" if latest else ""))
    c = line.resumable
    return (f"interrupted at {at(c.step, c.total)}, checkpoint {fmt_duration(c.age_s, compact=True)} "
            "old: `journal build` resumes it")

"""``journal status``: each experiment of each post (or of the posts named) as fresh, stale,
missing, corrupt or frozen, and what changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.context import Journal
from generator.plan.freshness import State, state
from generator.plan.model import Run
from generator.source.posts import select_posts


@dataclass(frozen=True)
class StatusLine:
    run: Run
    state: State
    reasons: tuple[str, ...]


def status(root: Path, posts: tuple[str, ...] = ()) -> list[StatusLine]:
    """Each experiment of the named posts (default: all) with its state and what changed."""
    journal = Journal.open(root)
    every, the_plan = journal.read()
    chosen = {p.rel for p in select_posts(every, posts, journal.root)}
    journal.store.index()  # a damaged index is reported here too
    out = []
    for rel, post_runs in the_plan.by_post.items():
        if rel not in chosen:
            continue
        for run in (r for first in post_runs.values() for r in the_plan.replicas(first)):
            found, reasons, _ = state(journal.store, run, check_files=True)
            out.append(StatusLine(run, found, tuple(reasons)))
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

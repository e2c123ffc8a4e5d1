"""``journal upgrade``: re-key results stored under an earlier key, running nothing.

A result is re-keyed when it was stored for exactly what the posts and code give now,
under the previous key format (``journal-key-1``) or under an earlier version of the
journal's run handle declared to make the same results (``plan.keys.EQUIVALENT_RUNTIMES``).
Every build does this too, under the lock, before it decides what to run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.context import Journal
from generator.errors import CorruptStore
from generator.plan.freshness import stored_earlier
from generator.plan.model import Plan, Run


def upgrade(journal: Journal, the_plan: Plan) -> list[Run]:
    """Re-key what can be re-keyed (called under the lock); the runs whose result moved."""
    done: dict[str, Run] = {}
    old: dict[Path, str] = {}
    labels = [r for r in the_plan.every_run() if not r.quick]
    for run in labels:
        try:
            if run.key in done or journal.store.load(run) is not None:
                continue
        except CorruptStore:
            continue  # reported (and replaced on request) as any damaged result is
        earlier = stored_earlier(journal.store, run)
        if earlier is None or journal.store.verify(earlier):
            continue
        journal.store.rekey(run, earlier)
        done[run.key] = run
        old[earlier.path] = earlier.key
    if done:
        journal.store.write_index(labels)
        still = set(journal.store.index().values())
        for path, key in old.items():
            if key not in still:
                shutil.rmtree(path, ignore_errors=True)
    return list(done.values())


def upgrade_results(root: Path) -> list[Run]:
    """`journal upgrade`: re-key the results stored under an earlier key, without running."""
    journal = Journal.open(root)
    _, the_plan = journal.read()
    with journal.locked():
        return upgrade(journal, the_plan)

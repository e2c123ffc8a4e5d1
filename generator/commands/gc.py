"""``journal gc``: remove stored results that no post uses, and all quick results."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.commands.build import Options, pin
from generator.context import Journal


def gc(root: Path, dry_run: bool = False) -> list[Path]:
    """Remove stored results that no post uses (full profile) and all quick results."""
    journal = Journal.open(root)
    posts, the_plan = journal.read()
    the_plan = pin(journal, the_plan, Options(), {p.rel: p.slug for p in posts})
    used = {r.key for r in the_plan.runs}
    removed = []
    with journal.locked():
        kept = {journal.store.folder(r) for r in the_plan.runs}
        for folder in list(journal.store.folders()):  # by folder: a damaged one goes too
            if folder not in kept:
                removed.append(folder)
                if not dry_run:
                    shutil.rmtree(folder)
        if journal.quick_store.root.is_dir():
            removed.append(journal.quick_store.root)
            if not dry_run:
                shutil.rmtree(journal.quick_store.root)
        if not dry_run:
            journal.store.prune_index(used)
            for folder in journal.store.root.glob("*/"):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    return removed

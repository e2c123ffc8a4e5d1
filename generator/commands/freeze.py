"""``journal freeze`` / ``journal unfreeze``: pin a finished week's results, or unpin them."""

from __future__ import annotations

from pathlib import Path

from generator.console import out
from generator.errors import InputError, Problem
from generator.source.posts import read_posts, select_posts, set_frozen


def pin(root: Path, names: tuple[str, ...], frozen: bool) -> None:
    """Pin (``frozen``) or unpin the posts ``names`` names, editing one line of each."""
    root = root.resolve()
    if not names:
        raise InputError(Problem("command line", None, "POST", "name at least one post (a path, "
                                 "file name or slug)"))
    for post in select_posts(read_posts(root), names, root):
        changed = set_frozen(post, frozen)
        state = "pinned" if frozen else "unpinned"
        out.print(f"{post.rel}: {state}{'' if changed else ' already'}", markup=False)

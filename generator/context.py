"""One journal on disk, as a command sees it: the context every stage receives.

A command opens the journal once (:meth:`Journal.open`): its folder, its configuration
(``[tool.journal]`` and ``mkdocs.yml``, read and checked once), the site engine, the
results stores and the folders the journal keeps its own state in (``.journal/``).
Stages take what they need from it; none of them reads the configuration again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from generator.console import console
from generator.site import Engine
from generator.site.base import placeholder_urls, repo_url
from generator.source.config import Config
from generator.store import Store, locked

if TYPE_CHECKING:
    from generator.plan.model import Plan, Run
    from generator.source.posts import Post

STATE = Path(".journal")   # the journal's own state: quick results, logs, charts, the lock


@dataclass
class Journal:
    root: Path
    config: Config
    engine: Engine

    @classmethod
    def open(cls, root: Path, *, engine: str | None = None, backend: str | None = None,
             address: str | None = None) -> Journal:
        """The journal at ``root``, with the command line's choices over its configuration."""
        from generator.site import engine as make_engine

        root = Path(root).resolve()
        config = Config.read(root).with_options(engine=engine, backend=backend, address=address)
        return cls(root, config, make_engine(config.engine))

    # -- where things are ------------------------------------------------------------
    @cached_property
    def store(self) -> Store:
        return Store(self.root / "results", self.root)

    @cached_property
    def quick_store(self) -> Store:
        return Store(self.root / STATE / "quick", self.root)

    @property
    def logs(self) -> Path:
        """Full logs (and executed notebooks) of failed runs."""
        return self.root / STATE / "logs"

    @property
    def checkpoints(self) -> Path:
        """Checkpoints of runs not finished yet, one folder per key (``generator.store.checkpoints``)."""
        return self.root / STATE / "checkpoints"

    @property
    def live(self) -> Path:
        """What running experiments have logged so far (``generator.run.live``)."""
        return self.root / STATE / "live"

    @property
    def charts(self) -> Path:
        """Charts drawn at build time, cached by what they show."""
        return self.root / STATE / "charts"

    @property
    def generated(self) -> Path:
        """The engine's folder of rendered posts (``docs/blog/posts``): the journal's own."""
        return self.engine.generated(self.root)

    @property
    def generated_pages(self) -> Path:
        """Generated parts of hand-written pages (the home page's weeks, Progress)."""
        return self.root / "docs" / ".generated"

    @property
    def notebooks(self) -> Path:
        return self.engine.notebooks(self.root)

    def store_for(self, run: Run) -> Store:
        return self.quick_store if run.quick else self.store

    # -- what the site settings say --------------------------------------------------
    @property
    def site(self) -> dict:
        """mkdocs.yml as plain data (read once)."""
        return self.config.site

    def repo_url(self) -> str | None:
        """mkdocs.yml's repo_url unless it is missing or a placeholder."""
        return repo_url(self.site)

    def placeholders(self) -> list[str]:
        """mkdocs.yml's site_url and repo_url settings that are still placeholders."""
        return placeholder_urls(self.site)

    # -- reading and locking -----------------------------------------------------------
    def read(self, quick: bool = False) -> tuple[list[Post], Plan]:
        """Every post, and the plan of their experiments."""
        from generator.plan.planner import plan
        from generator.source.posts import read_posts

        posts = read_posts(self.root)
        return posts, plan(posts, self.root, quick=quick)

    @contextlib.contextmanager
    def locked(self, *, wait: bool = True) -> Iterator[None]:
        """Hold the journal's lock (see ``generator.store.lock``), saying so while waiting."""
        with locked(self.root, wait=wait, on_wait=lambda who: console.print(
                f"waiting for the results store, in use by {who} ...")):
            yield

"""What every site engine provides: a folder for generated posts, a Markdown dialect, a build."""

from __future__ import annotations

import html
from pathlib import Path


class Engine:
    """A static-site engine the journal can build with.

    Markup methods take text that is already safe to put in Markdown (escaped by
    the caller) unless they say otherwise.
    """

    name = "engine"
    posts_dir = "blog/posts"            # generated posts, relative to docs/
    notebooks_dir = "blog/notebooks"    # published notebooks, relative to docs/
    posts_url = "blog"                  # where the built site serves the files beside them
                                        # (Material's blog drops the posts/ folder)

    # -- where things go ----------------------------------------------------------
    def generated(self, root: Path) -> Path:
        """The folder the journal writes rendered posts and their images into."""
        return root / "docs" / self.posts_dir

    def notebooks(self, root: Path) -> Path:
        """The folder the journal writes published notebooks' pages into."""
        return root / "docs" / self.notebooks_dir

    def post_link(self, slug: str) -> str:
        """A link, relative to docs/, to a rendered post's Markdown page."""
        return f"{self.posts_dir}/{slug}.md"

    def asset_link(self, rel: str) -> str:
        """A link, relative to docs/, to a file written under the generated posts folder."""
        return f"{self.posts_dir}/{rel}"

    # -- the Markdown dialect -----------------------------------------------------------
    def figure(self, base: str, alt: str, caption: str) -> str:
        """An image with a light and a dark variant (``{base}.light.png``, ``{base}.dark.png``).

        ``alt`` and ``caption`` are plain text: this method escapes them."""
        raise NotImplementedError

    def box(self, kind: str, title: str, body: str) -> str:
        """A block that stands out: ``kind`` is ``warning`` or ``failure``."""
        raise NotImplementedError

    def details(self, kind: str, title: str, body: str) -> str:
        """A collapsed block (closed until the reader opens it); ``body`` is Markdown."""
        raise NotImplementedError

    def missing(self, text: str) -> str:
        """An inline marker where a number has no result; ``text`` is plain text."""
        return f'<span class="journal-missing">{html.escape(text)}</span>'

    # -- building --------------------------------------------------------------------
    def site_path(self, root: Path) -> str:
        """The path the site is served under (from site_url), ``/`` by default."""
        raise NotImplementedError

    def tick(self) -> None:
        """Called often from the main thread while ``journal serve`` runs (housekeeping)."""

    def build(self, root: Path, *, site_dir: Path | None = None, strict: bool = True) -> Path:
        """Build the site from docs/; return the folder it was written to."""
        raise NotImplementedError

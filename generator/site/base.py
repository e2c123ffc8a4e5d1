"""What every site engine provides: a folder for generated posts, a Markdown dialect, a build."""

from __future__ import annotations

import html
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import urlsplit

# Hosts and owners that stand for "not set yet": example.com and its kin are reserved for
# examples (RFC 2606); the shipped mkdocs.yml's site is example.github.io.
PREVIEW_DIR = ".journal/preview"   # journal serve's builds, one folder per engine
_PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net", "example.github.io")


class Engine(ABC):
    """A static-site engine the journal can build with.

    Markup methods take text that is already safe to put in Markdown (escaped by
    the caller) unless they say otherwise.
    """

    name = "engine"
    posts_dir = "blog/posts"            # generated posts, relative to docs/
    notebooks_dir = "blog/notebooks"    # published notebooks, relative to docs/
    posts_url = "blog"                  # where the built site serves the files beside them
                                        # (Material's blog drops the posts/ folder)

    partial_previews = False            # a quick preview may leave other pages as they were

    def __init__(self, settings: dict | None = None) -> None:
        """``settings``: mkdocs.yml as plain data, when the caller has read it already."""
        self._settings = settings

    def settings(self, root: Path) -> dict:
        """mkdocs.yml as plain data: as given, else read once."""
        if self._settings is None:
            from generator.source.config import site_settings

            self._settings = site_settings(root)
        return self._settings

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
    @abstractmethod
    def figure(self, base: str, alt: str, caption: str, narrow: bool = False) -> str:
        """An image with a light and a dark variant (``{base}.light.png``, ``{base}.dark.png``)
        and, with ``narrow``, the same drawn for a phone's width (``{base}.narrow.light.png``,
        ``{base}.narrow.dark.png``), shown instead of the others on a narrow screen.

        ``alt`` and ``caption`` are plain text: this method escapes them."""

    @abstractmethod
    def box(self, kind: str, title: str, body: str) -> str:
        """A block that stands out: ``kind`` is ``warning`` or ``failure``."""

    @abstractmethod
    def details(self, kind: str, title: str, body: str) -> str:
        """A collapsed block (closed until the reader opens it); ``body`` is Markdown."""

    def missing(self, text: str) -> str:
        """An inline marker where a number has no result; ``text`` is plain text."""
        return f'<span class="journal-missing">{html.escape(text)}</span>'

    # -- building --------------------------------------------------------------------
    def check(self, root: Path) -> None:  # noqa: B027 - a hook: doing nothing is the default
        """Load and validate the site's configuration (InputError, exit 2, if it is wrong):
        called before any experiment runs."""

    @abstractmethod
    def site_path(self, root: Path) -> str:
        """The path the site is served under (from site_url), ``/`` by default."""

    def tick(self) -> None:  # noqa: B027 - a hook: doing nothing is the default
        """Called often from the main thread while ``journal serve`` runs (housekeeping)."""

    def require(self) -> None:  # noqa: B027 - a hook: doing nothing is the default
        """Raise InputError, before anything runs, if the engine cannot build here."""

    @abstractmethod
    def build(self, root: Path, *, site_dir: Path | None = None, strict: bool = True) -> Path:
        """Build the site from docs/; return the folder it was written to."""

    def preview_dir(self, root: Path) -> Path:
        """The folder ``journal serve``'s builds go to: the engine's own, kept between builds
        (serve publishes copies of it, so it is never read while a build writes it)."""
        return root / PREVIEW_DIR / self.name

    def preview(self, root: Path, *, quick: bool) -> Path:
        """Build the site into :meth:`preview_dir` for ``journal serve``; ``quick``: as fast as
        the engine can, rebuilding only what changed if it knows how (other pages may be
        left as they were until the next full preview). Returns the folder."""
        return self.build(root, site_dir=self.preview_dir(root))


def placeholder_urls(settings: dict) -> list[str]:
    """``site_url`` and ``repo_url`` settings of mkdocs.yml (as plain data: ``Config.site``)
    that are still placeholders."""
    found = []
    config = settings
    for key in ("site_url", "repo_url"):
        url = str(config.get(key) or "")
        if url and _is_placeholder(url):
            found.append(f"{key}: {url}")
    return found


def repo_url(settings: dict) -> str | None:
    """mkdocs.yml's repo_url, if it is set and is not a placeholder."""
    url = settings.get("repo_url")
    if not url or any(s.startswith("repo_url") for s in placeholder_urls(settings)):
        return None
    return str(url).rstrip("/")


def _is_placeholder(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if "<" in url or not host:
        return True
    if host in _PLACEHOLDER_HOSTS or host.endswith(tuple("." + h for h in _PLACEHOLDER_HOSTS[:3])):
        return True
    return host == "github.com" and parts.path.lower().startswith("/example/")

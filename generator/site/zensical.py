"""Zensical: the Material team's successor to MkDocs, building from the same ``mkdocs.yml``.

Zensical renders the same Markdown dialect as Material for MkDocs (admonitions,
details, attribute lists, ``#only-light``/``#only-dark`` images), so markup is
inherited. Building goes through Zensical's public ``zensical.build`` function.

Where Zensical does not (yet) do something the configuration asks for, the
build says which feature is missing, as a warning; it never fails for it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from generator.console import console
from generator.errors import InputError, SiteError
from generator.site.material import Material

# MkDocs plugins Zensical implements itself (its documentation, "MkDocs plugins"; version
# 0.0.73). Zensical ignores every other plugin in mkdocs.yml without a word: the journal
# names them instead.
SUPPORTED_PLUGINS = frozenset({
    "api-autonav", "autorefs", "awesome-nav", "blog", "callouts", "exclude", "gh-admonitions",
    "glightbox", "include-markdown", "literate-nav", "llmstxt", "macros", "mkdocs-nav-weight",
    "markdown-exec", "markdownextradata", "meta", "mike", "minify", "mkdocs-audio",
    "mkdocs-autoapi", "mkdocs-video", "mkdocstrings", "offline", "privacy", "redirects", "rss",
    "search", "social", "table-reader", "tags",
})
WORK_DIR = ".journal/zensical-site"     # where builds for another folder are made, then copied
WORK_CONFIG = ".journal-zensical.yml"  # its config (Zensical reads a config only in the project's folder)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_OUTPUT = threading.Lock()   # the build's output is caught at the file descriptors: one at a time


class Zensical(Material):
    name = "zensical"

    def asset_link(self, rel: str) -> str:
        # Both engines publish the posts folder's files one level up, beside the blog's pages
        # (docs/blog/posts/assets/x.png -> blog/assets/x.png). mkdocs rewrites a link from a
        # page outside the blog to the source path; Zensical (0.0.73) does not, so such a
        # page links the published place
        return f"{self.posts_dir.rpartition('/')[0] or '.'}/{rel}"

    def tick(self) -> None:
        restore_signals()

    def site_path(self, root: Path) -> str:
        return urlsplit(str(self.settings(root).get("site_url") or "/")).path or "/"

    def check(self, root: Path) -> None:
        # Zensical validates its configuration only when it builds (its parser is not a public
        # interface): check what can be checked, that it is installed and mkdocs.yml's YAML.
        # mkdocs' own validation would refuse plugins that Zensical does not run
        self.require()
        self.settings(root)

    def require(self) -> None:
        try:
            import zensical  # noqa: F401
        except ImportError:
            raise InputError("the zensical site engine needs Zensical, which is not installed: "
                             "pip install 'journal[zensical]' (or build with --engine material, "
                             "or engine = \"material\" under [tool.journal])") from None

    def build(self, root: Path, *, site_dir: Path | None = None, strict: bool = True) -> Path:
        self.require()
        import zensical

        root = root.resolve()
        settings = self.settings(root)
        configured = (root / str(settings.get("site_dir") or "site")).resolve()
        target = configured if site_dir is None else Path(site_dir).resolve()
        if target == configured:
            _build(zensical, root, root / "mkdocs.yml", strict)
            ship_lightbox(settings, target)
        else:
            # Zensical writes only inside the project's folder, and rebuilds fastest into the
            # folder (and from the config file) it built last time: other targets are built in
            # one work folder, from one config, and copied (a fresh target is never half-written)
            work = _build_into(zensical, root, WORK_DIR, strict)
            ship_lightbox(settings, work)
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(work, target)
        _warn(settings, target)
        return target

    def preview_dir(self, root: Path) -> Path:
        # where mkdocs.yml says: Zensical keeps what it built in memory and rebuilds only what
        # changed when it builds from the config file and into the folder it built last time,
        # and builds from mkdocs.yml itself faster than from a config that inherits it
        return (root / str(self.settings(root).get("site_dir") or "site")).resolve()

    def preview(self, root: Path, *, quick: bool) -> Path:
        self.require()
        import zensical

        root = root.resolve()
        _build(zensical, root, root / "mkdocs.yml", strict=True)
        folder = self.preview_dir(root)
        ship_lightbox(self.settings(root), folder)
        if not quick:
            _warn(self.settings(root), folder)
        return folder


LIGHTBOX = {"glightbox.min.js": "assets/javascripts", "glightbox.min.css": "assets/stylesheets"}


def ship_lightbox(settings: dict, site: Path) -> None:
    """Put GLightbox into the built site, where overrides/main.html loads it on Zensical's
    pages: Zensical (0.0.73) would otherwise have readers' browsers fetch it from a CDN
    (offline, figures would open as bare images). The copy is mkdocs-glightbox's, the one
    Material's build ships."""
    if "glightbox" not in _plugin_names(settings):
        return
    import mkdocs_glightbox

    source = Path(mkdocs_glightbox.__file__).parent / "glightbox"
    for name, folder in LIGHTBOX.items():
        (site / folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, site / folder / name)


def _build_into(zensical, root: Path, folder: str, strict: bool) -> Path:
    """Build into ``folder`` (relative to the journal), from a config that inherits mkdocs.yml."""
    config = root / WORK_CONFIG
    config.write_text(yaml.safe_dump({"INHERIT": "mkdocs.yml", "site_dir": folder}), encoding="utf-8")
    try:
        _build(zensical, root, config, strict)
    finally:
        config.unlink(missing_ok=True)
    return root / folder


def _warn(settings: dict, site: Path) -> None:
    for feature in missing_features(settings, site):
        console.print(f"[yellow]warning:[/] zensical: {feature}", markup=True, highlight=False)


def _build(zensical, root: Path, config: Path, strict: bool) -> None:
    cwd = os.getcwd()
    os.chdir(root)  # snippets resolve paths from the working directory
    try:
        _call(zensical.build, str(config), {"clean": False, "strict": strict})
    finally:
        os.chdir(cwd)
        restore_signals()


def restore_signals() -> None:
    """Give Ctrl-C and ``kill`` back to Python.

    Zensical's runtime installs its own SIGINT/SIGTERM handlers when it builds; re-installing
    the handlers Python has on record undoes that. Only the main thread may, so ``journal
    serve`` (which builds in other threads) calls this from its main loop too."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler is not None:
            signal.signal(sig, handler)


def _call(build, config: str, options: dict) -> str:
    """Run Zensical's build with its terminal output caught; raise SiteError if it fails."""
    with _OUTPUT, tempfile.TemporaryFile() as log:
        saved = [os.dup(1), os.dup(2)]
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        error = None
        try:
            build(config, options)
        except Exception as e:  # noqa: BLE001 - Zensical reports failures as RuntimeError
            error = e
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        log.seek(0)
        text = _ANSI.sub("", log.read().decode("utf-8", "replace"))
    if error is not None:
        detail = "\n".join(line for line in text.splitlines()[-40:]
                           if line.strip() and not line.startswith(("Build started", "Traceback")))
        raise SiteError(f"zensical could not build the site: {error}\n{detail}".rstrip())
    return text


def _plugin_names(settings: dict) -> list[str]:
    names = []
    for item in settings.get("plugins") or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            names += [str(k) for k in item]
    return names


def missing_features(settings: dict, site: Path) -> list[str]:
    """What mkdocs.yml asks for that this Zensical build does not provide, measured on its output."""
    plugins = _plugin_names(settings)
    missing = [f"plugin '{name}' is not supported: whatever it adds is missing from this site"
               for name in plugins if name not in SUPPORTED_PLUGINS]
    home = site / "index.html"
    head = home.read_text(encoding="utf-8", errors="replace") if home.is_file() else ""
    if "rss" in plugins:
        if not any(site.glob("feed_rss_*.xml")):
            missing.append("rss: no feed was written")
        elif "application/rss+xml" not in head:
            missing.append("rss: the feeds are written, but pages do not link them "
                           "(no <link rel=\"alternate\"> for feed readers to discover)")
    shipped = all((site / folder / name).is_file() for name, folder in LIGHTBOX.items()) \
        and "glightbox.min.js" in head
    if "glightbox" in plugins and not shipped and any(b"unpkg.com/glightbox" in js.read_bytes()
                                                      for js in site.glob("assets/javascripts/*.js")):
        missing.append("glightbox: the lightbox is not shipped with the site; readers' browsers "
                       "fetch it from unpkg.com (offline, images do not open in a lightbox): "
                       "the theme's overrides/main.html loads the shipped copy")
    if "tags" in plugins and not (site / "tags.json").is_file():
        missing.append("tags: no tags.json export (the tags pages themselves are built)")
    return missing

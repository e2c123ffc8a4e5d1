"""``journal serve``: a live preview on 127.0.0.1 through mkdocs' own server.

mkdocs' ``LiveReloadServer`` watches the journal's sources and serves a site
folder, telling open pages to reload after each rebuild. What a rebuild does
depends on what changed:

- If every result is fresh (an edit to prose, or to a page in docs/), the site is
  rebuilt at once with ``--frozen``: nothing runs, and the page reloads.
- If results are stale (an experiment's code or params changed), the last good
  site stays up with a banner that says what is running; the stale experiments
  run in a background thread, with progress in the terminal, and the page
  reloads when they are done.
- An error (bad front matter, an unknown reference, a failed experiment) is
  printed in the terminal and shown as a banner over the last good site; the
  server keeps running, and the next edit tries again.

Each build writes a fresh folder, so a page is never served half-written.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import jinja2
import jinja2.bccache
from mkdocs.livereload import LiveReloadServer, _timestamp

from generator.errors import InputError, JournalError, LockBusy, Problem, RunFailed, StaleResults
from generator.progress import console

HOST = "127.0.0.1"
GENERATED = ("blog/posts", ".generated")  # folders of docs/ that builds write: never watched
_BODY = re.compile(rb"<body[^>]*>")


class Outcome(str, Enum):
    BUILT = "built"
    STALE = "stale"        # results must run first
    BUSY = "busy"          # another build holds the results store
    FAILED = "failed"


class Banner:
    """The message shown at the bottom of every page; None when all is well."""

    STYLES = {
        "error": "background:#b71c1c;color:#fff",
        "info": "background:#0d47a1;color:#fff",
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kind: str | None = None
        self._text = ""

    def set(self, kind: str, text: str) -> None:
        with self._lock:
            self._kind, self._text = kind, text

    def clear(self) -> None:
        self.set(None, "")

    @property
    def kind(self) -> str | None:
        return self._kind

    def html(self) -> bytes:
        with self._lock:
            if self._kind is None:
                return b""
            style = ("position:fixed;z-index:10000;left:0;right:0;bottom:0;max-height:45vh;"
                     "overflow:auto;margin:0;padding:.8em 1.2em;font:13px/1.45 monospace;"
                     "white-space:pre-wrap;box-shadow:0 -2px 8px rgba(0,0,0,.3);"
                     + self.STYLES[self._kind])
            return (f'<div id="journal-banner" class="journal-banner-{self._kind}" role="alert" '
                    f'style="{style}">{html.escape(self._text)}</div>').encode()


class PreviewServer(LiveReloadServer):
    """mkdocs' live-reload server, plus a banner on every page and a reload from any thread."""

    def __init__(self, *args, banner: Banner, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.banner = banner
        self._bound = False

    def server_bind(self) -> None:
        """Bind once: ``Preview.serve`` binds early, to report a busy port before building."""
        if not self._bound:
            super().server_bind()
            self._bound = True

    def _inject_js_into_html(self, content: bytes, epoch: int) -> bytes:
        content = super()._inject_js_into_html(content, epoch)
        banner = self.banner.html()
        m = _BODY.search(content)
        if banner and m:
            content = content[:m.end()] + banner + content[m.end():]
        return content

    def reload(self) -> None:
        """Tell open pages to reload (the rebuild loop does this itself after its builder)."""
        with self._epoch_cond:
            self._wanted_epoch = self._visible_epoch = _timestamp()
            self._epoch_cond.notify_all()


class _TemplateCache(jinja2.BytecodeCache):
    """The theme's compiled templates, kept in memory between rebuilds.

    mkdocs compiles Material's templates anew for every build, which is about
    half of a small site's build time; jinja2 keys each entry by the template's
    name and source checksum, so an edited template is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _cached_templates() -> Iterator[None]:
    """While the preview runs, give every theme environment mkdocs makes one shared cache."""
    from mkdocs.theme import Theme

    original = Theme.get_env
    cache = _TemplateCache()

    def get_env(self):
        env = original(self)
        env.bytecode_cache = cache
        return env

    Theme.get_env = get_env
    try:
        yield
    finally:
        Theme.get_env = original


class Preview:
    """Builds for the server: fast frozen rebuilds, experiments in a background thread."""

    def __init__(self, root: Path, port: int, engine: str | None = None) -> None:
        from generator.site import for_journal

        self.root = root.resolve()
        self.port = port
        self.engine = for_journal(self.root, engine)
        self.mount = self.engine.site_path(self.root)
        self.tmp = Path(tempfile.mkdtemp(prefix="journal-serve-"))
        self._count = 0
        self.banner = Banner()
        # the server's root is a link to the latest good build: a request resolves it only
        # when it opens the file, so it never reads a folder that was already replaced
        self.current = self.tmp / "current"
        self._point(self._placeholder())
        self.server = PreviewServer(builder=self.rebuild, host=HOST, port=port,
                                    root=str(self.current), mount_path=self.mount,
                                    polling_interval=0.1, banner=self.banner)
        self.server.error_handler = self._error_page
        self._building = threading.Lock()   # one build at a time
        self._state = threading.Lock()      # guards _runner and _pending
        self._runner: threading.Thread | None = None
        self._pending = False               # an edit arrived while experiments ran

    @property
    def url(self) -> str:
        return self.server.url

    # -- the two kinds of build ----------------------------------------------
    def rebuild(self) -> None:
        """Called by the server's loop after an edit: never runs an experiment, never raises."""
        with self._state:
            if self._runner is not None:
                self._pending = True
                console.print("[dim]experiments are running; this edit is built when they finish[/]")
                return
        if self._build(frozen=True) is Outcome.STALE:
            self._start_runner()

    def _start_runner(self) -> None:
        with self._state:
            if self._runner is not None:
                self._pending = True
                return
            self._runner = threading.Thread(target=self._run_stale, name="journal-serve-runner",
                                            daemon=True)
            self._runner.start()

    def _run_stale(self) -> None:
        while True:
            self._build(frozen=False)
            self.server.reload()
            with self._state:
                if not self._pending:
                    self._runner = None
                    return
                self._pending = False

    def _build(self, *, frozen: bool) -> Outcome:
        from generator.build import Options, build

        with self._building:
            site = self._new_site_dir()
            t0 = time.perf_counter()
            try:
                summary = build(self.root, Options(frozen=frozen, keep_going=not frozen, quiet=frozen,
                                                   wait=not frozen, site_dir=site,
                                                   engine=self.engine.name))
            except StaleResults as e:
                stale = [line.strip() for line in str(e).splitlines() if line.startswith("  ")]
                console.print(f"[yellow]running {len(stale)} stale experiment"
                              f"{'s' * (len(stale) != 1)}[/] in the background:")
                for line in stale:
                    console.print(f"  {line}", markup=False, highlight=False)
                self.banner.set("info", "journal serve: running experiments; the page reloads when "
                                        "they finish.\n" + "\n".join(stale))
                return Outcome.STALE
            except LockBusy as e:
                self._report("info", f"{e}\nThe preview rebuilds on your next edit.")
                return Outcome.BUSY
            except RunFailed as e:  # with keep_going the site is built, with warning boxes
                if (site / "index.html").is_file():
                    self._publish(site)
                self._report("error", str(e))
                return Outcome.FAILED
            except JournalError as e:
                self._report("error", str(e))
                return Outcome.FAILED
            except Exception as e:  # noqa: BLE001 - a bug in the journal: keep serving
                traceback.print_exc()
                self._report("error", f"internal error: {type(e).__name__}: {e}")
                return Outcome.FAILED
            self._publish(site)
            self.banner.clear()
            ran = f", {summary.ran} experiment{'s' * (summary.ran != 1)} ran" if summary.ran else ""
            console.print(f"[green]rebuilt[/] {summary.pages} post{'s' * (summary.pages != 1)} in "
                          f"{time.perf_counter() - t0:.2f}s{ran}")
            return Outcome.BUILT

    # -- site folders ----------------------------------------------------------
    def _new_site_dir(self) -> Path:
        self._count += 1
        return self.tmp / f"site-{self._count}"

    def _point(self, site: Path) -> None:
        link = self.tmp / "current.new"
        link.unlink(missing_ok=True)
        link.symlink_to(site.name)
        os.replace(link, self.current)

    def _publish(self, site: Path) -> None:
        """Serve ``site`` from now on, and drop older builds."""
        self._point(site)
        for folder in self.tmp.iterdir():
            if folder.is_dir() and not folder.is_symlink() and folder != site:
                shutil.rmtree(folder, ignore_errors=True)

    def _placeholder(self) -> Path:
        """What is served before the first build finishes."""
        site = self._new_site_dir()
        site.mkdir(parents=True)
        (site / "index.html").write_text(
            "<!doctype html><html><head><meta charset=utf-8><title>journal serve</title></head>"
            "<body><h1>journal serve</h1><p>The first build has not finished yet.</p></body></html>\n",
            encoding="utf-8")
        return site

    def _error_page(self, code: int) -> bytes | None:
        page = self.current / f"{code}.html"
        return page.read_bytes() if page.is_file() else None

    def _report(self, kind: str, message: str) -> None:
        label = "error" if kind == "error" else "note"
        colour = "red" if kind == "error" else "yellow"
        console.print(f"[bold {colour}]{label}:[/] ", end="")
        console.print(message, markup=False, highlight=False)
        self.banner.set(kind, f"journal serve: {message}")

    # -- running ------------------------------------------------------------------
    def watch(self) -> list[Path]:
        """The journal's sources, minus the folders that builds themselves write."""
        watched = []
        for rel in ("posts", "experiments", "mkdocs.yml"):
            path = self.root / rel
            if path.exists():
                self.server.watch(str(path))
                watched.append(path)
        docs = self.root / "docs"
        if docs.is_dir():
            self._watch_tree(docs, docs, watched)
        return watched

    def _watch_tree(self, folder: Path, docs: Path, watched: list[Path]) -> None:
        inner = [docs / g for g in GENERATED]
        holds_generated = any(g.is_relative_to(folder) for g in inner)
        self.server.watch(str(folder), recursive=not holds_generated)
        watched.append(folder)
        if holds_generated:
            for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
                if sub not in inner:
                    self._watch_tree(sub, docs, watched)

    def serve(self) -> None:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"   # workers' __pycache__ would look like edits
        try:
            self.server.server_bind()
        except OSError as e:
            self.close()
            raise InputError(Problem("command line", None, "--port",
                                     f"cannot listen on {HOST}:{self.port} ({e.strerror}); "
                                     "choose another port")) from None
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)   # `kill` stops the preview as Ctrl-C does
        try:
            with _cached_templates():
                first = self._build(frozen=True)
                self.watch()
                console.print(f"serving [bold]{self.url}[/] (Ctrl-C stops); watching posts/, "
                              "experiments/, docs/ and mkdocs.yml")
                if first is Outcome.STALE:
                    self._start_runner()
                try:
                    self.server.serve()
                except KeyboardInterrupt:
                    console.print("stopped")
        finally:
            self.server.shutdown()
            self.close()

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def serve(root: Path, port: int = 8000, engine: str | None = None) -> None:
    Preview(root, port, engine).serve()

"""``journal serve``: a live preview on 127.0.0.1, on public APIs only.

A small server of the journal's own (the standard library's ``http.server``)
serves the latest good build, and a polling watcher over the journal's sources
rebuilds through the site engine (Material for MkDocs or Zensical) after each
edit. Every HTML page gets a banner (when there is something to say) and a tiny
script that long-polls ``<site path>/livereload/<epoch>``; a finished rebuild bumps the
epoch and open pages reload. What a rebuild does depends on what changed:

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

import html
import http.server
import mimetypes
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import traceback
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from generator.errors import InputError, JournalError, LockBusy, Problem, RunFailed, StaleResults
from generator.progress import console

HOST = "127.0.0.1"
GENERATED = (".generated",)  # folders of docs/ that builds write, besides the engine's posts folder
RELOAD = "livereload/"        # under the site's path, long-polled by every page: answers the epoch once it changes
POLL_S = 0.05                 # how often the watcher looks at the sources
SETTLE_S = 1.0                # quiet time after a quick (partial) preview before the full one
WAIT_S = 30                   # how long one long poll waits before answering "no change"
_BODY = re.compile(rb"<body[^>]*>")
_END = re.compile(rb"</body>", re.I)
_SCRIPT = """<script>/* journal serve: livereload */
(function(){var epoch=%d;function poll(){fetch("%s"+epoch,{cache:"no-store"})
.then(function(r){if(!r.ok){throw r.status}return r.text()})
.then(function(t){if(+t!==epoch){location.reload()}else{poll()}})
.catch(function(){setTimeout(poll,1000)})}poll()})();</script>"""


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


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the current build under the site's path; HTML gets the banner and the reload script."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 - the terminal shows builds, not requests
        pass

    def do_HEAD(self) -> None:
        self.do_GET(body=False)

    def do_GET(self, body: bool = True) -> None:
        srv = self.server
        path = unquote(urlsplit(self.path).path)
        if path.startswith(srv.mount + RELOAD):
            since = path[len(srv.mount + RELOAD):]
            return self._send(200, "text/plain", str(srv.wait_for_change(since)).encode(), body)
        if not path.startswith(srv.mount):
            if path in ("/", srv.mount.rstrip("/")):
                return self._redirect(srv.mount)
            return self._not_found(body)
        site = srv.root.resolve()             # the build being served now: read from it alone
        rel = path[len(srv.mount):]
        file = (site / rel).resolve()
        if not file.is_relative_to(site):
            return self._not_found(body)
        if file.is_dir():
            if not path.endswith("/"):
                return self._redirect(path + "/")
            file = file / "index.html"
        if not file.is_file():
            return self._not_found(body, site)
        self._file(200, file, body)

    def _file(self, code: int, file: Path, body: bool) -> None:
        data = file.read_bytes()
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind == "text/html":
            data = self.server.inject(data)
            kind += "; charset=utf-8"
        self._send(code, kind, data, body)

    def _not_found(self, body: bool, site: Path | None = None) -> None:
        page = site / "404.html" if site else None
        if page is not None and page.is_file():
            return self._file(404, page, body)
        self._send(404, "text/plain", b"not found", body)

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, code: int, kind: str, data: bytes, body: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)


class PreviewServer(http.server.ThreadingHTTPServer):
    """Serves a folder (through a link that each build repoints) and tells open pages to reload."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, root: Path, mount: str, banner: Banner,
                 tick=lambda: None) -> None:
        super().__init__((host, port), _Handler, bind_and_activate=False)
        self.tick = tick
        self.root = root
        self.mount = mount if mount.endswith("/") else mount + "/"
        self.banner = banner
        self._epoch = 1
        self._changed = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}{self.mount}"

    def bind(self) -> None:
        """Bind and listen now: ``Preview.serve`` does so early, to report a busy port before building."""
        self.server_bind()
        self.server_activate()

    def service_actions(self) -> None:
        """Each turn of the serving loop, in the main thread: the engine's housekeeping."""
        self.tick()

    def reload(self) -> None:
        """Tell open pages to reload (from any thread)."""
        with self._changed:
            self._epoch += 1
            self._changed.notify_all()

    def wait_for_change(self, since: str) -> int:
        """The current epoch, once it differs from ``since`` (or after WAIT_S)."""
        with self._changed:
            self._changed.wait_for(lambda: str(self._epoch) != since, timeout=WAIT_S)
            return self._epoch

    def inject(self, page: bytes) -> bytes:
        banner = self.banner.html()
        m = _BODY.search(page)
        if banner and m:
            page = page[:m.end()] + banner + page[m.end():]
        script = (_SCRIPT % (self._epoch, self.mount + RELOAD)).encode()
        ends = list(_END.finditer(page))
        return page[:ends[-1].start()] + script + page[ends[-1].start():] if ends else page + script


class _Watcher:
    """Polls the journal's sources; calls ``changed`` after each edit (also while it runs)."""

    def __init__(self, paths: list[Path], skip: list[Path], changed, idle=lambda: None) -> None:
        self.paths, self.skip, self.changed, self.idle = paths, set(skip), changed, idle
        self.stopped = threading.Event()
        self._last = self.snapshot()

    def snapshot(self) -> dict[str, tuple[int, int]]:
        seen: dict[str, tuple[int, int]] = {}
        for path in self.paths:
            if path.is_file():
                self._add(seen, path)
            for folder, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if d != "__pycache__" and Path(folder, d) not in self.skip]
                for name in files:
                    if not name.endswith(".pyc"):
                        self._add(seen, Path(folder, name))
        return seen

    @staticmethod
    def _add(seen: dict, path: Path) -> None:
        try:
            st = path.stat()
        except OSError:
            return
        seen[str(path)] = (st.st_mtime_ns, st.st_size)

    def run(self) -> None:
        while not self.stopped.wait(POLL_S):
            now = self.snapshot()
            if now != self._last:
                self._last = now
                self.changed()
            else:
                self.idle()

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="journal-serve-watcher", daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """Stop polling, and let a rebuild it started finish (one never stops half-way)."""
        self.stopped.set()
        self.thread.join(timeout)


def _same_bytes(a: str, b: Path) -> bool:
    try:
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


class Preview:
    """Builds for the server: fast frozen rebuilds, experiments in a background thread."""

    def __init__(self, root: Path, port: int, engine: str | None = None) -> None:
        from generator.site import for_journal

        self.root = root.resolve()
        self.port = port
        self.engine = for_journal(self.root, engine)
        self.mount = self.engine.site_path(self.root)
        # builds go inside the journal (Zensical writes only there), in a folder of its own
        (self.root / ".journal").mkdir(exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="serve-", dir=self.root / ".journal"))
        self._count = 0
        self.banner = Banner()
        # the server's root is a link to the latest good build: a request resolves it only
        # when it opens the file, so it never reads a folder that was already replaced
        self.current = self.tmp / "current"
        self._point(self._placeholder())
        self.server = PreviewServer(HOST, port, self.current, self.mount, self.banner, self.engine.tick)
        self.watcher: _Watcher | None = None
        self._building = threading.Lock()   # one build at a time
        self._state = threading.Lock()      # guards _runner and _pending
        self._runner: threading.Thread | None = None
        self._pending = False               # an edit arrived while experiments ran
        self._unsettled = 0.0               # when a quick preview left other pages as they were
        self._copied: dict[str, tuple] = {} # the last published build: file -> its signature in the preview

    @property
    def url(self) -> str:
        return self.server.url

    # -- the two kinds of build ----------------------------------------------
    def edited(self) -> None:
        """Called by the watcher after an edit: rebuild, then reload open pages."""
        self.rebuild()
        self.server.reload()

    def rebuild(self) -> None:
        """A build after an edit: never runs an experiment, never raises."""
        with self._state:
            if self._runner is not None:
                self._pending = True
                console.print("[dim]experiments are running; this edit is built when they finish[/]")
                return
        if self._build(frozen=True, preview="quick") is Outcome.STALE:
            self._start_runner()

    def idle(self) -> None:
        """Called by the watcher when nothing changed: after a quick preview that may have left
        other pages (the blog's index, navigation) as they were, build the full site once the
        edits pause, and serve it without reloading open pages."""
        if not self._unsettled or time.monotonic() - self._unsettled < SETTLE_S:
            return
        with self._state:
            if self._runner is not None:
                return
        self._unsettled = 0.0
        self._build(frozen=True, preview="full", say=False)

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

    def _build(self, *, frozen: bool, preview: str = "full", say: bool = True) -> Outcome:
        from generator.build import Options, build

        with self._building:
            t0 = time.perf_counter()
            try:
                summary = build(self.root, Options(frozen=frozen, keep_going=not frozen, quiet=frozen,
                                                   wait=not frozen, preview=preview,
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
                work = self.engine.preview_dir(self.root)
                if (work / "index.html").is_file():
                    self._publish(self._copy(work))
                self._report("error", str(e))
                return Outcome.FAILED
            except JournalError as e:
                self._report("error", str(e))
                return Outcome.FAILED
            except Exception as e:  # noqa: BLE001 - a bug in the journal: keep serving
                traceback.print_exc()
                self._report("error", f"internal error: {type(e).__name__}: {e}")
                return Outcome.FAILED
            self._publish(self._copy(summary.site))   # under the lock: see _copy
            self.banner.clear()
            if preview == "quick" and self.engine.partial_previews:
                self._unsettled = time.monotonic()
            ran = f", {summary.ran} experiment{'s' * (summary.ran != 1)} ran" if summary.ran else ""
            if say:
                console.print(f"[green]rebuilt[/] {summary.pages} post{'s' * (summary.pages != 1)} in "
                              f"{time.perf_counter() - t0:.2f}s{ran}")
            return Outcome.BUILT

    # -- site folders ----------------------------------------------------------
    def _new_site_dir(self) -> Path:
        self._count += 1
        return self.tmp / f"site-{self._count}"

    def _copy(self, work: Path) -> Path:
        """A new folder holding what the engine built into ``work``: each file the same as
        in the build served now (untouched since it was copied, or with the same bytes; an
        engine may write every file again) is a hard link to that one's copy (served folders
        are never written again); the others are copied. Under the results store's lock, as
        builds write sites: ``work`` may be the site folder a ``journal build`` writes too."""
        from generator.store import Store

        with Store(self.root / "results", self.root).lock():
            return self._copy_locked(work)

    def _copy_locked(self, work: Path) -> Path:
        site = self._new_site_dir()
        served = self.current.resolve()
        copied: dict[str, tuple] = {}
        for folder, _dirs, files in os.walk(work):
            rel_dir = os.path.relpath(folder, work)
            (site / rel_dir).mkdir(parents=True, exist_ok=True)
            for name in files:
                rel = os.path.normpath(os.path.join(rel_dir, name))
                source = os.path.join(folder, name)
                st = os.stat(source)
                copied[rel] = sig = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
                was = self._copied.get(rel)
                if was is not None and (was == sig or (was[2] == st.st_size
                                                       and _same_bytes(source, served / rel))):
                    try:
                        os.link(served / rel, site / rel)
                        continue
                    except OSError:
                        pass
                shutil.copy2(source, site / rel)
        self._copied = copied
        return site

    def _point(self, site: Path) -> None:
        link = self.tmp / "current.new"
        link.unlink(missing_ok=True)
        link.symlink_to(site.name)
        os.replace(link, self.current)

    def _publish(self, site: Path) -> None:
        """Serve ``site`` from now on; drop older builds but the one before (requests may be reading it)."""
        before = self.current.resolve()
        self._point(site)
        for folder in self.tmp.iterdir():
            if folder.is_dir() and not folder.is_symlink() and folder not in (site, before):
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

    def _report(self, kind: str, message: str) -> None:
        label = "error" if kind == "error" else "note"
        colour = "red" if kind == "error" else "yellow"
        console.print(f"[bold {colour}]{label}:[/] ", end="")
        console.print(message, markup=False, highlight=False)
        self.banner.set(kind, f"journal serve: {message}")

    # -- running ------------------------------------------------------------------
    def watch(self) -> list[Path]:
        """Start watching the journal's sources, minus the folders that builds themselves write."""
        paths = [self.root / rel for rel in ("posts", "experiments", "docs", "mkdocs.yml", "pyproject.toml")]
        paths = [p for p in paths if p.exists()]
        skip = [self.engine.generated(self.root), *(self.root / "docs" / g for g in GENERATED)]
        self.watcher = _Watcher(paths, skip, self.edited, self.idle)
        self.watcher.start()
        return paths

    def serve(self) -> None:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"   # workers' __pycache__ would look like edits
        try:
            self.server.bind()
        except OSError as e:
            self.close()
            raise InputError(Problem("command line", None, "--port",
                                     f"cannot listen on {HOST}:{self.port} ({e.strerror}); "
                                     "choose another port")) from None
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)   # `kill` stops the preview as Ctrl-C does
        try:
            first = self._build(frozen=True)
            self.watch()
            console.print(f"serving [bold]{self.url}[/] with {self.engine.name} (Ctrl-C stops); "
                          "watching posts/, experiments/, docs/, mkdocs.yml and pyproject.toml")
            if first is Outcome.STALE:
                self._start_runner()
            try:
                self.server.serve_forever(poll_interval=0.2)
            except KeyboardInterrupt:
                console.print("stopped")
        finally:
            if self.watcher is not None:
                self.watcher.stop(timeout=30)
            if self._building.acquire(timeout=5):   # a background site build: let it finish
                self._building.release()
            self.server.server_close()
            self.close()

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def serve(root: Path, port: int = 8000, engine: str | None = None) -> None:
    Preview(root, port, engine).serve()

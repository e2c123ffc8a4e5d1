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

import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from enum import Enum
from pathlib import Path

from generator.commands.preview_server import HOST, Banner, PreviewServer, Watcher, same_bytes
from generator.console import console
from generator.errors import InputError, JournalError, LockBusy, Problem, RunFailed, StaleResults

GENERATED = (".generated",)  # folders of docs/ that builds write, besides the engine's posts folder
SETTLE_S = 1.0                # quiet time after a quick (partial) preview before the full one


class Outcome(str, Enum):
    BUILT = "built"
    STALE = "stale"        # results must run first
    BUSY = "busy"          # another build holds the results store
    FAILED = "failed"


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


class Preview:
    """Builds for the server: fast frozen rebuilds, experiments in a background thread."""

    def __init__(self, root: Path, port: int, engine: str | None = None) -> None:
        from generator.context import Journal

        self.root = root.resolve()
        self.port = port
        self.engine = Journal.open(self.root, engine=engine).engine
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
        self.watcher: Watcher | None = None
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
        from generator.commands.build import Options, build

        with self._building:
            t0 = time.perf_counter()
            try:
                summary = build(self.root, Options(frozen=frozen, keep_going=not frozen, quiet=frozen,
                                                   wait=not frozen, preview=preview,
                                                   engine=self.engine.name))
            except StaleResults as e:
                stale = [str(run) for run in e.runs]
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
        from generator.store import locked

        with locked(self.root):
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
                                                       and same_bytes(source, served / rel))):
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
        self.watcher = Watcher(paths, skip, self.edited, self.idle)
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

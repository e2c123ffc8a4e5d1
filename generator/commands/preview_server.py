"""``journal serve``'s web server: the latest good build over HTTP on 127.0.0.1, a banner
and a live-reload script in every page, and the watcher that notices edits.

Only the standard library's ``http.server``: a request is answered from the build the
server points at when it opens the file, so a page is never served half-written.
"""

from __future__ import annotations

import html
import http.server
import mimetypes
import os
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

HOST = "127.0.0.1"
RELOAD = "livereload/"        # under the site's path, long-polled by every page: answers the epoch once it changes
POLL_S = 0.05                 # how often the watcher looks at the sources
WAIT_S = 30                   # how long one long poll waits before answering "no change"
_BODY = re.compile(rb"<body[^>]*>")
_END = re.compile(rb"</body>", re.I)
_SCRIPT = """<script>/* journal serve: livereload */
(function(){var epoch=%d;function poll(){fetch("%s"+epoch,{cache:"no-store"})
.then(function(r){if(!r.ok){throw r.status}return r.text()})
.then(function(t){if(+t!==epoch){location.reload()}else{poll()}})
.catch(function(){setTimeout(poll,1000)})}poll()})();</script>"""


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


class Watcher:
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


def same_bytes(a: str, b: Path) -> bool:
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

"""What each page of a built site weighs in a browser: every byte it loads, by kind.

    python scripts/page_weight.py [SITE] [--width 390] [--width 1280] [--scheme dark]

Serves SITE (default: site/) on 127.0.0.1, opens the home page, the blog index, every post
and the Progress page in Debian's Chromium through Playwright, scrolls each to its end (so
that lazily loaded figures load, as they do for a reader who reads it all) and adds up the
bodies of every response the page received: HTML, CSS, JavaScript, fonts and images.
Nothing is fetched from off the machine; a request there is counted as blocked.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

KINDS = (("html", (".html", "/")), ("css", (".css",)), ("js", (".js",)),
         ("font", (".woff2", ".woff", ".ttf")), ("img", (".png", ".svg", ".jpg", ".ico", ".webp")))


def kind(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0]
    for name, ends in KINDS:
        if path.endswith(ends):
            return name
    return "other"


def pages(site: Path) -> list[str]:
    posts = sorted(p.parent.relative_to(site).as_posix() + "/" for p in site.glob("blog/20*/**/index.html"))
    return ["", "blog/", *posts, "progress/"]


def serve(site: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(site)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return server, url
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)


def weigh(site: Path, widths: list[int], scheme: str) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    server, base = serve(site)
    out: dict = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            for width in widths:
                for path in pages(site):
                    context = browser.new_context(viewport={"width": width, "height": 844},
                                                  color_scheme=scheme)
                    sizes: dict[str, int] = defaultdict(int)
                    blocked: list[str] = []

                    def route(r, blocked=blocked):
                        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                            r.continue_()
                        else:
                            blocked.append(r.request.url)
                            r.abort()

                    def response(r, sizes=sizes):
                        length = r.headers.get("content-length")   # http.server always sends it
                        if r.status == 200 and length is not None:
                            sizes[kind(r.url)] += int(length)

                    context.route("**/*", route)
                    page = context.new_page()
                    page.on("response", response)
                    page.goto(base + path, wait_until="networkidle")
                    height = page.evaluate("document.documentElement.scrollHeight")
                    for y in range(0, height + 844, 600):   # read to the end: lazy figures load
                        page.evaluate(f"window.scrollTo(0, {y})")
                        page.wait_for_timeout(40)
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(200)
                    out[(width, path)] = (dict(sizes), blocked)
                    context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site", nargs="?", default="site")
    ap.add_argument("--width", type=int, action="append")
    ap.add_argument("--scheme", default="light", choices=("light", "dark"))
    args = ap.parse_args()
    widths = args.width or [1280, 390]
    found = weigh(Path(args.site).resolve(), widths, args.scheme)
    names = [k for k, _ in KINDS] + ["other"]
    print(f"{'width':>5}  {'page':<34}" + "".join(f"{n:>8}" for n in names) + f"{'total':>9}  (KB)")
    for (width, path), (sizes, blocked) in found.items():
        row = "".join(f"{sizes.get(n, 0) / 1024:8.0f}" for n in names)
        total = sum(sizes.values()) / 1024
        note = f"  {len(blocked)} blocked off-machine" if blocked else ""
        print(f"{width:>5}  {(path or '(home)')[-34:]:<34}{row}{total:9.0f}{note}")


if __name__ == "__main__":
    main()

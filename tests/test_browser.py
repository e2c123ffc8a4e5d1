"""The built site in a real browser: images, the palette switch, search, console, links.

A tiny journal is built with each site engine (Material for MkDocs, and Zensical
where it is installed), served by ``python -m http.server`` on 127.0.0.1, and
driven by Debian's Chromium through Playwright. The browser tests
skip, saying why, where Chromium or Playwright is missing (`.ci/run` installs
both); the checks on the site's files run everywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import Journal, make_journal

CHROMIUM = next((p for p in (os.environ.get("JOURNAL_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

WEEK_1 = """
# Backprop by hand

This week I rebuilt micrograd: a scalar autograd engine in a hundred lines.
The squares add up to {{ sq.total:.1f }}.

The loss is the mean negative log-likelihood \\(-\\frac{1}{N}\\sum_i \\log p(c_i)\\), or

$$
\\mathrm{NLL} = -\\frac{1}{N} \\sum_{i=1}^{N} \\log p(c_i \\mid c_{i-1}).
$$

{{ figure pic.curve "The curve the toy experiment drew" }}

{{ chart sq.value "The logged series" }}
""" + "\nA long week: more prose than an index should show.\n" * 40
WEEK_2 = """
# Counting characters

Compared with last week's {{ week-1/sq.total }}:

{{ table sq big : total n }}
"""


# Zensical (0.0.73) loads the lightbox (GLightbox 3) from this CDN in the reader's browser
# instead of shipping it with the site; the build says so (a warning). These are the only
# requests off the machine it may make: they are answered, as the CDN would, with GLightbox 3
# from mkdocs-glightbox's copy
ZENSICAL_CDN = ("https://unpkg.com/glightbox@3/",)


def _glightbox(url: str) -> tuple[str, bytes]:
    import mkdocs_glightbox

    name = url.rsplit("/", 1)[1]
    assert name in ("glightbox.min.js", "glightbox.min.css"), url
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    return kind, (Path(mkdocs_glightbox.__file__).parent / "glightbox" / name).read_bytes()


@pytest.fixture(scope="module", params=["material", "zensical"])
def engine(request) -> str:
    if request.param == "zensical":
        pytest.importorskip("zensical", reason="Zensical is not installed: pip install -e '.[zensical]'")
    return request.param


@pytest.fixture(scope="module")
def site(engine, tmp_path_factory) -> Path:
    """A tiny journal with two posts, categories and tags, built into site/ by each engine."""
    root = make_journal(tmp_path_factory.mktemp("browser") / "journal")
    journal = Journal(root, root.parent / "calls.txt")
    config = root / "mkdocs.yml"   # no repository link: nothing may leave the machine
    config.write_text("".join(line for line in config.read_text(encoding="utf-8").splitlines(True)
                              if not line.startswith("repo_url:")), encoding="utf-8")
    journal.post("week-1", """
        sq: {run: toy.square, params: {n: 4}}
        pic: {run: toy.plot}
    """, WEEK_1, extra="categories: [Zero to Hero]\ntags: [micrograd]\nheadline: [sq.total]\n")
    journal.post("week-2", """
        sq: {run: toy.square, params: {n: 4}}
        big: {run: toy.square, params: {n: 8}}
    """, WEEK_2, date="2024-07-11", extra="categories: [Zero to Hero]\ntags: [makemore]\n")
    saved = os.environ.pop("JOURNAL_TEST_COUNTER", None)
    try:
        journal.build(engine=engine)
    finally:
        if saved is not None:
            os.environ["JOURNAL_TEST_COUNTER"] = saved
    return root / "site"


@pytest.fixture(scope="module")
def base_url(site) -> str:
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
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"http.server did not start on {url}") from None
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


class Browser:
    """One Chromium; each page records console errors, failed loads and off-machine requests."""

    def __init__(self, browser, base_url: str, cdn: tuple[str, ...] = ()) -> None:
        self.base_url = base_url
        self.cdn = cdn
        self.cdn_requests: list[str] = []
        self.context = browser.new_context(color_scheme="light", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.context.route("**/*", self._only_local)

    def _only_local(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        elif url.startswith(self.cdn):
            self.cdn_requests.append(url)
            kind, body = _glightbox(url)
            route.fulfill(status=200, content_type=kind, body=body)
        else:   # with repo_url unset, not even Material's repository widget asks GitHub
            self.problems.append(f"request off this machine: {url}")
            route.abort()

    def open(self, path: str):
        page = self.context.new_page()
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"{path}: console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"{path}: page error: {e}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"{path}: {r.status} for {r.url}"))
        page.goto(self.base_url + path, wait_until="load")
        return page


@pytest.fixture(scope="module")
def browser(base_url, engine):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: apt-get install chromium (.ci/run does this)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        b = Browser(chromium, base_url, ZENSICAL_CDN if engine == "zensical" else ())
        yield b
        b.context.close()
        chromium.close()


def _posts(site: Path) -> list[str]:
    pages = sorted(site.glob("blog/20*/**/index.html"))
    assert len(pages) == 2, pages
    return [p.parent.relative_to(site).as_posix() + "/" for p in pages]


IMAGES = "[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth, i.offsetParent !== null])"


def test_every_image_on_every_post_loads(site, browser):
    for path in ["", "progress/", *_posts(site)]:
        page = browser.open(path)
        page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
        page.wait_for_function("[...document.images].every(i => i.complete)", timeout=10_000)
        images = page.evaluate(IMAGES)
        broken = [src for src, width, _ in images if width == 0]
        assert not broken, f"{path}: images that did not load: {broken}"
        if "week-1" in path:
            assert len(images) >= 4, images   # the figure and the chart, light and dark
        page.close()
    assert not browser.problems


def test_the_palette_switch_shows_the_dark_figures(site, browser):
    page = browser.open(next(p for p in _posts(site) if "week-1" in p))

    def visible() -> list[str]:
        page.evaluate("document.querySelectorAll('figure img').forEach(i => "
                      "{ if (i.offsetParent !== null) i.scrollIntoView(); })")
        page.wait_for_function("[...document.querySelectorAll('figure img')]"
                               ".filter(i => i.offsetParent !== null).every(i => i.naturalWidth > 0)",
                               timeout=10_000)
        return [src for src, _, shown in page.evaluate(IMAGES) if shown and "#only-" in src]

    assert page.get_attribute("body", "data-md-color-scheme") == "default"
    light = visible()
    assert light and all(src.endswith(".light.png#only-light") for src in light), light

    page.click("label[for=__palette_1]")
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    dark = visible()
    assert len(dark) == len(light) and all(src.endswith(".dark.png#only-dark") for src in dark), dark

    page.click("label[for=__palette_0]")
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'default'")
    assert visible() == light
    page.close()
    assert not browser.problems


def test_search_finds_a_word_of_a_post(browser, engine):
    page = browser.open("")
    if engine == "zensical":                      # a button opens Zensical's search dialog
        page.click("button.md-search__button")
        page.keyboard.type("micrograd")
        first = page.locator("a[href*='week-1/?h=micrograd']").first
        first.wait_for(timeout=15_000)
        assert "week-1" in first.get_attribute("href")
        assert "micrograd" in first.inner_text().lower()
    else:
        page.click("input.md-search__input")     # the header's search box (a wide window)
        page.keyboard.type("micrograd")
        first = page.locator(".md-search-result__item a").first
        first.wait_for(timeout=15_000)
        assert "week-1" in first.get_attribute("href")
        assert "micrograd" in page.locator(".md-search-result").inner_text().lower()
    page.close()
    assert not browser.problems


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.urls.append(value)


def test_no_broken_internal_links(site):
    mount = urlsplit("https://example.github.io/journal/").path   # mkdocs.yml's site_url
    checked, broken = 0, []
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        here = "/" + page.relative_to(site).as_posix()
        for url in parser.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("#"):
                continue
            target = unquote(urlsplit(urljoin(here, parts.path)).path)
            if target.startswith(mount):
                target = "/" + target[len(mount):]
            path = site / target.lstrip("/")
            if target.endswith("/") or path.is_dir():
                path = path / "index.html"
            checked += 1
            if not path.is_file():
                broken.append(f"{page.relative_to(site)}: {url}")
    assert checked > 100
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_site_has_feed_archive_categories_and_home_listing(site):
    feed = (site / "feed_rss_created.xml").read_text(encoding="utf-8")
    assert "<pubDate>Thu, 11 Jul 2024" in feed and "<pubDate>Thu, 04 Jul 2024" in feed
    assert (site / "blog" / "archive" / "2024" / "index.html").is_file()
    assert (site / "blog" / "category" / "zero-to-hero" / "index.html").is_file()
    home = (site / "index.html").read_text(encoding="utf-8")
    assert '<a href="blog/2024/07/04/week-1/">week-1</a>' in home  # the weeks, linked
    assert "<strong>14</strong>" in home                     # week 1's headline result


def test_tags_link_to_a_tags_page(site):
    post = next(site.glob("blog/20*/**/week-1/index.html")).read_text(encoding="utf-8")
    assert 'class="md-tag"' in post
    assert '<a href="' in post.split('class="md-tags"', 1)[1].split("</nav>", 1)[0]


def test_feed_descriptions_start_with_the_post(site):
    feed = (site / "feed_rss_created.xml").read_text(encoding="utf-8")
    assert "generated by journal" not in feed


def test_serve_reloads_an_open_page_after_a_prose_edit(site, engine, browser):
    """`journal serve` with this engine: an open page shows a prose edit by itself."""
    root = site.parent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "generator", "-C", str(root), "serve", "--port",
                               str(port), "--engine", engine], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    post = root / "posts" / "week-1.md"
    before = post.read_text(encoding="utf-8")
    url = f"http://127.0.0.1:{port}/journal/"
    context = browser.context.browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                  else route.abort())
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if b"week-1" in r.read():
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "journal serve did not start"
            time.sleep(0.2)
        page = context.new_page()
        page.goto(url + next(p for p in _posts(site) if "week-1" in p), wait_until="load")
        assert "a hundred lines" in page.inner_text("article")
        page.evaluate("window.journalLoaded = 1")
        page.wait_for_timeout(1500)
        assert page.evaluate("window.journalLoaded") == 1, "the page reloaded with nothing edited"
        post.write_text(before.replace("a hundred lines", "a hundred and one lines"), encoding="utf-8")
        t0 = time.monotonic()
        page.wait_for_function("document.body && document.body.innerText.includes('a hundred and one lines')",
                               timeout=30_000)
        print(f"{engine}: prose edit shown in the open page after {time.monotonic() - t0:.2f}s")
        assert page.evaluate("window.journalLoaded") is None   # reloaded, by the injected script
    finally:
        post.write_text(before, encoding="utf-8")
        context.close()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    assert server.returncode == 0


def _week(site: Path, slug: str) -> str:
    return next(p for p in _posts(site) if slug in p)


def test_math_is_typeset_from_the_site_itself(site, browser):
    page = browser.open(_week(site, "week-1"))
    page.wait_for_function("document.querySelectorAll('.arithmatex .katex').length >= 2")
    inline = page.locator("span.arithmatex .katex")
    display = page.locator("div.arithmatex .katex-display")
    assert inline.count() == 1 and display.count() == 1
    assert "NLL" in display.inner_text()
    assert "\\frac" not in page.locator("article").inner_text()   # no raw LaTeX left
    page.close()
    assert not browser.problems     # KaTeX and its fonts came from 127.0.0.1


def test_the_blog_index_shows_excerpts(site, browser):
    page = browser.open("blog/")
    links = page.locator("article a", has_text="Continue reading")
    assert links.count() == 2
    assert "week-1" in " ".join(links.nth(i).get_attribute("href") for i in range(2))
    text = page.locator("article").all_inner_texts()
    assert any("rebuilt micrograd" in t for t in text)
    assert not any("more prose than an index should show" in t for t in text)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 3 * 900, f"the blog index is {height} px tall"
    page.close()
    assert not browser.problems


OVERFLOW = """() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) out.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const t of document.querySelectorAll('.md-typeset table')) {
    const box = t.closest('.md-typeset__scrollwrap') || t.parentElement;
    if (t.checkVisibility() && t.scrollWidth > box.clientWidth + 1)   // shown without a click
      out.push(`table ${t.scrollWidth} > ${box.clientWidth}: ${t.innerText.slice(0, 60)}`);
  }
  return out;
}"""


def test_nothing_overflows_a_phone_screen(site, browser):
    phone = browser.context.browser.new_context(viewport={"width": 390, "height": 844},
                                                color_scheme="light")
    phone.route("**/*", browser._only_local)
    try:
        for path in ["", "progress/", *_posts(site)]:
            page = phone.new_page()
            page.goto(browser.base_url + path, wait_until="load")
            assert page.evaluate(OVERFLOW) == [], path
            # and with every box open: the provenance box's full record reads on a phone too
            opened = page.evaluate("() => [...document.querySelectorAll('details')].map(d => d.open = true).length")
            assert page.evaluate(OVERFLOW) == [], f"{path} with {opened} boxes open"
            page.close()
    finally:
        phone.close()
    assert not browser.problems


def test_the_lightbox_shows_each_figure_once_with_its_caption(site, browser):
    page = browser.open(_week(site, "week-1"))
    figures = page.locator("article figure").count()
    assert figures == 2                                   # the figure and the chart
    first = page.locator("article figure a.glightbox").filter(
        has=page.locator("img[src*='only-light']")).first
    first.click()
    page.locator(".glightbox-container .gslide").first.wait_for()
    assert page.locator(".glightbox-container .gslide").count() == figures   # not its dark copy too
    title = page.locator(".glightbox-container .gslide.current .gslide-title")
    assert title.inner_text() == "The curve the toy experiment drew"
    page.keyboard.press("Escape")
    page.close()
    assert not browser.problems


def test_every_post_has_a_share_card(site):
    from html.parser import HTMLParser

    class Meta(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.props: dict[str, str] = {}

        def handle_starttag(self, tag, attrs) -> None:
            a = dict(attrs)
            if tag == "meta" and (a.get("property") or a.get("name")):
                self.props[a.get("property") or a.get("name")] = a.get("content", "")

    mount = "https://example.github.io/journal/"          # mkdocs.yml's site_url
    for path in _posts(site):
        meta = Meta()
        meta.feed((site / path / "index.html").read_text(encoding="utf-8"))
        props = meta.props
        slug = path.rstrip("/").rsplit("/", 1)[1]
        assert props["og:title"] == slug and props["twitter:title"] == slug
        assert props["og:description"]
        assert props["og:url"] == mount + path
        image = props["og:image"]
        assert image.startswith(mount) and image.endswith(".png"), image
        assert (site / image[len(mount):]).is_file(), image
        # a post with a figure shows it; one without shows the site's logo
        assert props["twitter:card"] == ("summary_large_image" if "week-1" in path else "summary")
        assert ("/assets/images/" in image) == ("week-2" in path)


def test_feed_dates_come_from_the_posts_not_the_build(site):
    feed = (site / "feed_rss_updated.xml").read_text(encoding="utf-8")
    dates = [re.search(r"<pubDate>(Thu, \d\d Jul 2024)", item).group(1) for item in feed.split("<item>")[1:]]
    assert sorted(dates) == ["Thu, 04 Jul 2024", "Thu, 11 Jul 2024"]   # each post its own date


def test_every_chart_has_a_y_label(site):
    import json

    charts = site.parent / ".journal" / "charts"
    shown = {d for page in site.rglob("*.html")
             for d in re.findall(r"((?:progress-)?[0-9a-f]{16})\.light\.png", page.read_text(encoding="utf-8"))
             if (charts / f"{d}.light.png").is_file()}
    assert len(shown) >= 2                      # week 1's chart and the Progress page's
    for digest in shown:
        inputs = json.loads((charts / f"{digest}.json").read_text(encoding="utf-8"))
        assert inputs["ylabel"].strip(), digest


def test_the_progress_page_has_a_panel_per_tracked_quantity(site, browser):
    page = browser.open("progress/")
    assert [h.rstrip("¶") for h in page.locator("article h2").all_inner_texts()] == ["total"]
    rows = page.locator("article table tbody tr").all_inner_texts()
    assert len(rows) == 1 and "sq" in rows[0] and "14" in rows[0]
    assert page.locator("article table a").first.get_attribute("href").rstrip("/").endswith("week-1")
    page.close()
    assert not browser.problems

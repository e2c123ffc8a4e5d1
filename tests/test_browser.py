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


WIDE = '''
def wide(run):
    """Twelve numbers of the widths a results table holds: counts, losses, tiny differences."""
    return {"params": 531441, "steps": 200000, "train_nll": 2.3412, "dev_nll": 2.4567,
            "test_nll": 2.4499, "gap": 0.0007, "cpu_s": 81.8, "wall_s": 466.7, "diff_h": 1.4e-09,
            "diff_w": 2.2e-16, "ratio": -3.05, "share": 0.039}
'''
WIDE_NAMES = "params steps train_nll dev_nll test_nll gap cpu_s wall_s diff_h diff_w ratio share"


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
    journal.write("experiments/wide.py", WIDE)
    journal.post("week-2", """
        sq: {run: toy.square, params: {n: 4}}
        big: {run: toy.square, params: {n: 8}}
        w: {run: wide.wide}
        w2: {run: wide.wide}
    """, WEEK_2 + f"\n{{{{ table w w2 : {WIDE_NAMES} }}}}\n", date="2024-07-11",
        extra="categories: [Zero to Hero]\ntags: [makemore]\n")
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
    """One Chromium; each page records console errors, failed loads and off-machine requests
    (there must be none, with either engine: the lightbox and the math renderer come from
    the site itself)."""

    def __init__(self, browser, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(color_scheme="light", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.context.route("**/*", self._only_local)

    def _only_local(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith(self.base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
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
        b = Browser(chromium, base_url)
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
  // the page never scrolls sideways; a table wider than the column scrolls in its own box,
  // which says so and is a tab stop (journal.js)
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) out.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const t of document.querySelectorAll('.md-typeset table')) {
    const box = t.closest('.md-typeset__scrollwrap') || t.parentElement;
    const scrolls = box.classList.contains('journal-scrolls') && box.getAttribute('tabindex') === '0'
      && getComputedStyle(box).overflowX === 'auto';
    if (t.checkVisibility() && t.scrollWidth > box.clientWidth + 1 && !scrolls)   // shown without a click
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
            page.wait_for_timeout(200)   # journal.js marks the tables that scroll
            assert page.evaluate(OVERFLOW) == [], path
            # and with every box open: the provenance box's full record reads on a phone too
            opened = page.evaluate("() => [...document.querySelectorAll('details')].map(d => d.open = true).length")
            page.evaluate("() => window.dispatchEvent(new Event('resize'))")
            page.wait_for_timeout(200)
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


# -- reading on a phone and a desktop ------------------------------------------------------

def _context(browser, width: int, scheme: str = "light"):
    context = browser.context.browser.new_context(viewport={"width": width, "height": 900},
                                                  color_scheme=scheme)
    context.set_default_timeout(10_000)
    context.route("**/*", browser._only_local)
    return context


def _open(context, browser, path: str):
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and browser.problems.append(f"{path}: console error: {m.text}"))
    page.on("pageerror", lambda e: browser.problems.append(f"{path}: page error: {e}"))
    page.goto(browser.base_url + path, wait_until="load")
    page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("[...document.images].filter(i => i.offsetParent).every(i => i.complete)")
    page.wait_for_timeout(200)   # journal.js marks wide tables once the theme has laid them out
    return page


SHOWN = """() => [...document.querySelectorAll('article figure img')].filter(i => i.offsetParent !== null)
  .map(i => ({src: i.getAttribute('src'), shown: i.getBoundingClientRect().width, natural: i.naturalWidth,
              href: i.closest('a').getAttribute('href')}))"""


def test_a_phone_shows_the_figures_drawn_for_its_width(site, browser):
    """At 390 px each figure and chart is the one drawn 4 inches wide, so its 9 pt tick labels
    (25 px in the 200 dpi image) are at least 10 CSS px on the screen; at 1280 px the column's
    own. The lightbox opens the full-size drawing on both."""
    for width in (390, 1280):
        context = _context(browser, width)
        page = _open(context, browser, _week(site, "week-1"))
        shown = page.evaluate(SHOWN)
        assert len(shown) == 2, shown            # the figure and the chart, in one palette
        for img in shown:
            assert (".narrow." in img["src"]) == (width == 390), img
            assert ".narrow." not in img["href"] and img["href"].endswith(".light.png"), img
            tick = 9 / 72 * 200 * img["shown"] / img["natural"]   # a 9 pt label, in CSS px
            assert tick >= 10 if width == 390 else tick >= 12, (width, img, tick)
        context.close()
    assert not browser.problems


NUMBERS_SPLIT = r"""() => {
  // every number in a table cell (a value, a spread's two halves, a date, a hash) on one line
  const found = [], pattern = /[-−+]?\d[\d,.]*(?:e[-+]?\d+)?%?|\b[0-9a-f]{7,}\b/g;
  for (const cell of document.querySelectorAll('article td, article th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.textContent.matchAll(pattern)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) found.push(m[0]);
      }
    }
  }
  return found;
}"""


def test_numbers_never_break_and_a_wide_table_scrolls_from_the_keyboard(site, browser):
    """At 390 px a twelve-column table of numbers does not fit: it scrolls sideways, with a
    tab stop on its scrolling area named after the table, and no number in any cell (nor in
    the provenance box, opened) is split across two lines."""
    context = _context(browser, 390)
    page = _open(context, browser, _week(site, "week-2"))
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    page.wait_for_timeout(200)
    page.evaluate("() => window.dispatchEvent(new Event('resize'))")
    page.wait_for_timeout(200)
    assert page.evaluate(NUMBERS_SPLIT) == []
    wide = page.evaluate("""() => [...document.querySelectorAll('article table')]
      .filter(t => t.innerText.includes('531,441')).map(t => {
        const box = t.closest('.md-typeset__scrollwrap') || t.parentElement;
        return {scrolls: box.scrollWidth > box.clientWidth, tab: box.getAttribute('tabindex'),
                name: box.getAttribute('aria-label'), role: box.getAttribute('role')}; })""")
    assert wide == [{"scrolls": True, "tab": "0", "name": wide[0]["name"], "role": "region"}], wide
    assert "params" in wide[0]["name"] and "scrolls sideways" in wide[0]["name"]
    # reachable with Tab, like any other stop on the page
    page.locator("article .journal-scrolls").first.focus()
    assert page.evaluate("document.activeElement.classList.contains('journal-scrolls')")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.activeElement.scrollLeft > 0")
    context.close()
    assert not browser.problems


TAB_STOPS = """() => [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')]
  .filter(el => el.tabIndex >= 0 && !el.disabled && el.closest('article'))
  .map(el => { el.focus(); const focused = document.activeElement === el; const r = el.getBoundingClientRect();
    const name = (el.getAttribute('aria-label') || el.innerText || el.getAttribute('title') ||
                  [...el.querySelectorAll('img')].map(i => i.alt).join(' ')).trim();
    return {focused, visible: r.width > 0 && r.height > 0, named: name.length > 0,
            what: el.outerHTML.slice(0, 120)}; })
  .filter(s => s.focused && (!s.visible || !s.named))"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_tab_stop_in_a_post_can_be_seen_and_has_a_name(site, browser, scheme):
    """The link around the palette not shown is hidden with its image: no invisible,
    unnamed stop per figure (as there was: two per figure, one of them never seen)."""
    context = _context(browser, 1280, scheme)
    for path in _posts(site):
        page = _open(context, browser, path)
        assert page.evaluate(TAB_STOPS) == [], path
        links = page.evaluate("[...document.querySelectorAll('article a.glightbox')].filter(a => "
                              "a.getClientRects().length > 0).length")
        assert links == page.locator("article figure").count()   # one lightbox link per figure shown
    context.close()
    assert not browser.problems


def test_katex_loads_only_where_there_is_math(site, browser):
    """KaTeX's script, stylesheet and fonts (about 300 KB) are fetched by the page with math
    alone; every other page asks for none of them."""
    for path, math in (("", False), ("blog/", False), (_week(site, "week-2"), False),
                       ("progress/", False), (_week(site, "week-1"), True)):
        browser.requests.clear()
        page = browser.open(path)
        if math:
            page.wait_for_function("document.querySelectorAll('.arithmatex .katex').length >= 2")
        page.wait_for_load_state("networkidle")
        katex = [u for u in browser.requests if "/katex/" in u]
        assert bool(katex) == math, (path, katex)
        page.close()
    assert not browser.problems


def test_the_lightbox_comes_with_the_site(site, browser):
    """Both engines: GLightbox's script and stylesheet are the site's own files, so a figure
    opens in the lightbox offline (Zensical's theme would ask unpkg.com for them)."""
    browser.requests.clear()
    page = browser.open(_week(site, "week-1"))
    page.locator("article figure a.glightbox").filter(has=page.locator("img[src*='only-light']")).first.click()
    page.locator(".glightbox-container .gslide.current img").wait_for()
    assert any(u.startswith(browser.base_url) and u.endswith("glightbox.min.js") for u in browser.requests)
    assert any(u.startswith(browser.base_url) and u.endswith("glightbox.min.css") for u in browser.requests)
    page.keyboard.press("Escape")
    page.close()
    assert not browser.problems      # nothing was asked of another host


def _axe(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    import axe_playwright_python

    script = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    page.add_script_tag(path=str(script))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']}: "
            + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
                        for n in v["nodes"][:4])
            for v in found["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_axe_finds_nothing_serious_on_any_page(site, browser, width, scheme):
    """axe-core (bundled by the axe-playwright-python package, installed with [dev]) on the
    home page, the blog index, every post and Progress, with every box open."""
    pytest.importorskip("axe_playwright_python", reason="pip install -e '.[dev]' installs axe-core")
    context = _context(browser, width, scheme)
    found = {}
    for path in ["", "blog/", *_posts(site), "progress/"]:
        page = _open(context, browser, path)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        problems = _axe(page)
        if problems:
            found[path or "(home)"] = problems
        page.close()
    context.close()
    assert not found, "\n".join(f"{p}: {v}" for p, vs in found.items() for v in vs)
    assert not browser.problems

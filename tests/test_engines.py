"""Site engines: the same journal built with Material for MkDocs and with Zensical.

Both builds are real; the Zensical tests skip, saying so, where Zensical is not
installed (`.ci/run` installs the `zensical` extra).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Journal

from generator import site

POST = """
# Counting squares

The squares add up to {{ sq.total:.1f }} over {{ sq.n }} terms.

{{ figure pic.curve "The toy curve" }}

{{ chart sq.value "The logged series" }}
"""


def _journal(journal: Journal) -> Journal:
    journal.post("week-1", """
        sq: {run: toy.square, params: {n: 4}}
        pic: {run: toy.plot}
    """, POST, extra="categories: [Zero to Hero]\ntags: [micrograd]\nheadline: [sq.total]\n")
    journal.post("week-2", """
        sq: {run: toy.square, params: {n: 6}}
    """, "# More squares\n\nNow {{ sq.total }}.\n", date="2024-07-11", extra="tags: [makemore]\n")
    return journal


def _pages(site_dir: Path) -> set[str]:
    return {p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html")}


def _post(site_dir: Path, slug: str) -> str:
    [page] = list((site_dir / "blog").rglob(f"{slug}/index.html"))
    return page.read_text(encoding="utf-8")


def test_material_markup_is_the_material_dialect():
    md = site.engine("material")
    fig = md.figure("assets/x", "a [b]", "A <caption>")
    # one lightbox link per palette, around the column's drawing (and, with narrow, the phone's)
    assert ('[![a (b)](assets/x.light.png#only-light){ .journal-wide loading=lazy }](assets/x.light.png)'
            '{ .glightbox data-type=image data-gallery=light data-title="a (b)" data-desc-position=bottom }') in fig
    assert "![a (b)](assets/x.dark.png#only-dark){ .journal-wide loading=lazy }" in fig
    assert "narrow" not in fig
    assert "<figcaption>A &lt;caption&gt;</figcaption>" in fig
    both = md.figure("assets/x", "a", "")
    assert "narrow" not in both
    both = md.figure("assets/x", "a", "", narrow=True)
    assert ("![a](assets/x.light.png#only-light){ .journal-wide loading=lazy }"
            "![a](assets/x.narrow.light.png#only-light){ .journal-narrow loading=lazy }") in both
    assert md.box("warning", "Title", "one\ntwo") == '!!! warning "Title"\n    one\n    two'
    assert md.details("info", "T", "| a |\n| b |") == '??? info "T"\n\n    | a |\n    | b |\n'
    assert md.missing("⚠ <x>") == '<span class="journal-missing">⚠ &lt;x&gt;</span>'
    with pytest.raises(ValueError, match="unknown site engine 'hugo'"):
        site.engine("hugo")


def test_zensical_builds_the_same_posts_numbers_figures_and_feeds(journal, tmp_path):
    pytest.importorskip("zensical", reason="the zensical extra is not installed")
    _journal(journal)
    material = journal.build(site_dir=tmp_path / "material")
    r = journal.cli("build", "--frozen", "--engine", "zensical", "--site-dir", str(tmp_path / "zensical"))
    assert r.returncode == 0, r.stdout + r.stderr
    zensical = tmp_path / "zensical"
    assert material.site == tmp_path / "material"
    # the same pages: posts, archive, categories, tags, home, progress
    assert _pages(material.site) == _pages(zensical)
    assert any("archive/2024" in p for p in _pages(zensical))
    assert any("category/zero-to-hero" in p for p in _pages(zensical))
    for slug in ("week-1", "week-2"):
        m, z = _post(material.site, slug), _post(zensical, slug)
        for text in ("The squares add up to 14.0 over 4 terms", "Now 55"):
            assert (text in m) == (text in z)
        # every figure, in its light and its dark variant
        images = sorted(re.findall(r'src="[^"]*?([^/"]+\.(?:light|dark)\.png)#only-(?:light|dark)"', z))
        assert images == sorted(re.findall(r'src="[^"]*?([^/"]+\.(?:light|dark)\.png)#only-(?:light|dark)"', m))
        if slug == "week-1":   # the figure and the chart: light and dark, for the column and a phone
            assert len(images) == 8
        for name in images:
            assert list(zensical.rglob(name)), f"{name} is linked but was not copied"
    assert "55" in _post(zensical, "week-2")
    # the RSS feed lists both posts; what Zensical leaves out is said, not dropped
    feed = (zensical / "feed_rss_created.xml").read_text(encoding="utf-8")
    assert feed.count("<item>") == 2 and "week-1" in feed and "week-2" in feed
    assert "warning: zensical: rss:" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not list(journal.root.glob(".journal-zensical*")), "the build left its config behind"


def test_the_engine_is_one_setting_in_pyproject(journal, tmp_path):
    pytest.importorskip("zensical", reason="the zensical extra is not installed")
    _journal(journal)
    journal.build()
    journal.write("pyproject.toml", """
        [project]
        name = "my-journal"

        [tool.journal]
        engine = "zensical"
    """)
    (journal.root / "site").rename(tmp_path / "old-site")
    r = journal.cli("build", "--frozen")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning: zensical:" in r.stderr           # its warnings name it
    html = (journal.root / "site" / "index.html").read_text(encoding="utf-8")
    assert "modern/main" in html or "zensical" in html.lower()  # Zensical's own stylesheet
    # --engine overrides the file
    r = journal.cli("build", "--frozen", "--engine", "material")
    assert r.returncode == 0 and "zensical" not in r.stdout + r.stderr, r.stdout + r.stderr


def test_a_bad_engine_setting_names_the_file_line_and_choices(journal):
    journal.write("pyproject.toml", """
        [project]
        name = "my-journal"

        [tool.journal]
        backend = "local"
        engine = "hugo"
    """)
    r = journal.cli("build", "--frozen")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pyproject.toml:6: tool.journal.engine: expected one of material, zensical, got 'hugo'" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    journal.write("pyproject.toml", "[tool.journal\nengine = 1\n")
    r = journal.cli("build", "--frozen")
    assert r.returncode == 2 and "pyproject.toml:1:" in r.stderr and "not valid TOML" in r.stderr


def test_zensical_failures_and_unsupported_plugins_are_reported(journal):
    pytest.importorskip("zensical", reason="the zensical extra is not installed")
    _journal(journal)
    journal.build()
    about = journal.root / "docs" / "about.md"
    about.write_text(about.read_text() + "\n[a broken link](nowhere.md)\n")
    r = journal.cli("build", "--frozen", "--engine", "zensical")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "zensical could not build the site" in r.stderr and "nowhere.md" in r.stderr
    assert "\x1b[" not in r.stderr and "Traceback" not in r.stdout + r.stderr
    about.write_text(about.read_text().replace("[a broken link](nowhere.md)", ""))
    config = journal.root / "mkdocs.yml"
    config.write_text(config.read_text().replace("  - tags\n", "  - tags\n  - git-committers\n"))
    r = journal.cli("build", "--frozen", "--engine", "zensical")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plugin 'git-committers' is not supported" in r.stderr


def test_serve_uses_no_private_mkdocs_api():
    """`journal serve` is built on public APIs: nothing private of mkdocs, no monkeypatching."""
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (Path(__file__).parents[1] / "generator").rglob("*.py"))
    for private in ("_inject_js_into_html", "_epoch_cond", "_timestamp", "_wanted_epoch",
                    "Theme.get_env", "mkdocs.livereload", "LiveReloadServer"):
        assert private not in source, private


def test_zensical_missing_is_a_clear_error(journal):
    _journal(journal)
    code = "import sys; sys.modules['zensical'] = None; from generator.cli import main; main()"
    r = subprocess.run([sys.executable, "-c", code, "-C", str(journal.root), "build", "--engine", "zensical"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pip install 'journal[zensical]'" in r.stderr and "Traceback" not in r.stderr
    assert not (journal.root / "results").exists()            # said before anything ran

"""docs/notebooks.md, run as written: every shell block in order, every file block written
where its title says, in a temporary folder (the machinery of tests/test_tutorial.py)."""

from __future__ import annotations

import re

import pytest
from test_tutorial import REPO, RUN, Tutorial, blocks

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

PAGE = REPO / "docs" / "notebooks.md"


def test_the_notebook_tutorial_runs_as_written(tmp_path):
    tutorial = Tutorial(tmp_path)
    found = blocks(PAGE.read_text(encoding="utf-8"))
    assert all(b.lang in RUN or b.title for b in found) and not any(b.marker for b in found)
    ran = [(block.body, tutorial.run(block)) for block in found]
    journal = tmp_path / "nb-journal"
    assert tutorial.cwd == journal

    shown = next(out for body, out in ran if "journal show counts" in body)
    assert "1 experiment ran, 1 from the cache" in shown
    assert "metric    week-2/counts.dev_nll = " in shown and "figure    week-2/counts.counts" in shown
    status = next(out for body, out in ran if "status --explain" in body)
    lines = [line for line in status.splitlines() if "posts/week-2.md:counts" in line]
    assert len(lines) == 2 and lines[0].startswith("fresh") and lines[1].startswith("stale"), status
    assert "notebooks/bigram.py changed" in status
    page = next((journal / "site" / "blog").rglob("week-2/index.html")).read_text(encoding="utf-8")
    assert re.search(r"With add-0\.5 smoothing, the count model scores\s+\d\.\d{3} nats", page)
    assert "The notebook behind these numbers" in page
    published = next((journal / "site").rglob("week-2-counts/index.html")).read_text(encoding="utf-8")
    assert "smoothing = 0.5" in published and "dev NLL" in published

"""The shipped journal: its committed results are complete, and its posts build."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.commands.build import Options, build
from generator.commands.status import status
from generator.plan.freshness import State

REPO = Path(__file__).resolve().parents[1]


def test_every_shipped_experiment_has_a_fresh_committed_result():
    lines = status(REPO)
    assert lines, "the shipped journal declares no experiments"
    stale = [f"{x.run.label}: {x.state.value} ({'; '.join(x.reasons)})" for x in lines
             if x.state not in (State.FRESH, State.FROZEN)]
    assert not stale, "run `journal build` and commit results/:\n" + "\n".join(stale)


def test_weeks_one_and_two_are_pinned():
    states = {x.run.post: x.state for x in status(REPO)}
    for week in ("posts/week-1.md", "posts/week-2.md"):
        assert (REPO / week).read_text().split("---")[1].count("\nfreeze: true\n") == 1
        assert states[week] in (State.FRESH, State.FROZEN)


def test_shipped_posts_build_quickly_with_quick_overrides(tmp_path):
    root = tmp_path / "journal"
    for rel in ("posts", "experiments", "docs", "overrides", "mkdocs.yml"):
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, root / rel, ignore=shutil.ignore_patterns(
                "__pycache__", ".generated", "posts" if rel == "docs" else "__none__"))
        else:
            shutil.copy(src, root / rel)
    shutil.rmtree(root / "docs" / "blog" / "posts", ignore_errors=True)
    summary = build(root, Options(quick=True, quiet=True))
    assert summary.failed == [] and summary.ran >= 8
    page = next((root / "site" / "blog").rglob("week-1/index.html")).read_text()
    assert "Quick preview" in page and "micrograd" in page

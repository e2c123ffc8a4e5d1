"""The warm fast path: a build that finds nothing changed since the last one goes straight to
the site engine; any change to what a build reads or wrote makes the next one do the work."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from generator.commands.build import Options
from generator.incremental import manifest

HELPER = "SCALE = 1.0\n"
MODULE = '''
from experiments.helper import SCALE


def total(run, *, n: int = 3):
    extra = sum(int(x) for x in run.read_text("data/numbers.txt").split())
    return {"total": SCALE * sum(range(n)) + extra}
'''
BODY = "# Sums\n\nThe sum is {{ s.total:.1f }}; squares {{ sq.total:.0f }}.\n"


def settle() -> None:
    """Let the clock move past the racy window, so that the record can trust what it sees."""
    time.sleep(manifest.RACY_NS / 1e9 + 0.02)


def warm_up(journal) -> None:
    """Build until the next build would find nothing to do (a racy record can need one more)."""
    from generator.commands.build import Options

    for _ in range(3):
        settle()
        if manifest.check(journal.root, Options(), "material")[0] is not None:
            return
        journal.build()
    pytest.fail("no build left a record that the next build could use")


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def sums(journal):
    journal.write("experiments/helper.py", HELPER)
    journal.write("experiments/sums.py", MODULE)
    journal.write("data/numbers.txt", "1 2\n")
    journal.post("week-1", """
        s: {run: sums.total, data: data/numbers.txt}
        sq: {run: toy.square}
    """, BODY)
    first = journal.build()
    assert (first.ran, first.fast) == (2, False)
    warm_up(journal)
    assert journal.build().fast
    return journal


def page(journal) -> str:
    return (journal.root / "docs" / "blog" / "posts" / "week-1.md").read_text(encoding="utf-8")


def test_a_build_with_nothing_changed_takes_the_fast_path_and_builds_the_same_site(sums, capsys):
    assert "The sum is 6.0" in page(sums)
    before = sums.html("week-1")
    shutil.rmtree(sums.root / "site")
    capsys.readouterr()
    again = sums.build(quiet=False)
    assert again.fast and (again.ran, again.cached, again.pages) == (0, 2, 1)
    assert "all 2 experiments are fresh" in capsys.readouterr().err   # what the build said, said again
    assert sums.html("week-1") == before


CHANGES = [  # (what changes, how many experiments then run, what the page then says)
    ("post", 0, "Now the sum is 6.0"), ("module", 1, "sum is 9.0"),
    ("imported module", 1, "sum is 15.0"), ("data file", 1, "sum is 19.0"),
    ("lock", 0, None), ("mkdocs.yml", 0, None), ("pyproject", 0, None), ("new module", 0, None),
    ("deleted output", 0, None), ("edited output", 0, None), ("result removed", 1, None),
]


def _change(journal, change: str) -> None:
    root = journal.root
    generated = root / "docs" / "blog" / "posts" / "week-1.md"
    if change == "post":
        edit(root / "posts" / "week-1.md", "The sum is", "Now the sum is")
    elif change == "module":
        edit(root / "experiments" / "sums.py", "sum(range(n))", "sum(range(n + 1))")
    elif change == "imported module":
        journal.write("experiments/helper.py", "SCALE = 2.0\n")
    elif change == "data file":
        journal.write("data/numbers.txt", "1 6\n")
    elif change == "lock":
        journal.write("experiments.lock", "numpy==1.0\n")
    elif change == "mkdocs.yml":
        edit(root / "mkdocs.yml", "site_name:", "site_name: Renamed #")
    elif change == "pyproject":
        journal.write("pyproject.toml", "[tool.journal]\nengine = \"material\"\n")
    elif change == "new module":   # an import could now resolve to it
        journal.write("experiments/other.py", "X = 1\n")
    elif change == "deleted output":
        generated.unlink()
    elif change == "edited output":
        generated.write_text(page(journal).replace("sum is", "Hand-edited:"), encoding="utf-8")
    elif change == "result removed":
        newest = max((root / "results").glob("sums.total/*/result.json"), key=lambda p: p.stat().st_mtime_ns)
        shutil.rmtree(newest.parent)   # the result the page shows


def test_each_change_makes_the_next_build_do_the_work(sums):
    said = "Now the sum is 6.0"
    for change, runs, says in CHANGES:
        _change(sums, change)
        settle()
        s = sums.build()
        assert not s.fast, change
        assert s.ran == runs, change
        said = says or said
        assert said in page(sums) and "Hand-edited" not in page(sums), change
        if change == "mkdocs.yml":
            assert "Renamed" in sums.html("week-1")
        warm_up(sums)   # and the build after it finds nothing to do again
    assert sums.calls() == ["square"]   # toy.square ran once, at the start


def test_a_commit_of_the_results_changes_the_pages_provenance(sums):
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=sums.root,
                       check=True, capture_output=True)

    git("init", "-q")
    settle()
    assert not sums.build().fast           # a repository appeared
    warm_up(sums)
    assert "not committed yet" in page(sums)
    git("add", "results")
    git("commit", "-q", "-m", "results")
    settle()
    assert not sums.build().fast
    assert "not committed yet" not in page(sums)


def test_other_options_and_racy_files_take_the_normal_path(sums):
    settle()
    assert not sums.build(quick=True).fast           # options that shape the pages
    assert not sums.build(engine="material", rerun=("s",)).fast
    warm_up(sums)
    post = sums.root / "posts" / "week-1.md"
    edit(post, "The sum is", "The sum was")          # no settle: modified within the racy window
    assert not sums.build().fast
    assert "The sum was 6.0" in page(sums)
    # the record marks the post as not to be trusted, so the next build cannot skip it
    inputs = json.loads((sums.root / manifest.FILE).read_text())["inputs"]
    racy = [Path(k).resolve() for k, v in inputs.items() if v == manifest.RACY]
    assert racy == [post.resolve()]
    assert manifest.check(sums.root, Options(), "material")[0] is None
    warm_up(sums)


def test_a_build_in_the_same_process_plans_again_only_what_changed(sums):
    from generator.incremental import memo as warm

    sums.post("week-2", "sq: {run: toy.square, params: {n: 3}}", "Squares: {{ sq.total:.0f }}.\n",
              date="2024-07-11")
    settle()
    assert sums.build().ran == 1
    warm_up(sums)   # a build after the one that ran: the results it wrote are no longer new
    memory = warm.memo(sums.root.resolve())
    before = memory.hits
    edit(sums.root / "posts" / "week-1.md", "The sum is", "By now the sum is")
    settle()
    assert not sums.build().fast
    # a prose edit: both posts' plans (their front matter is as it was) and the checks of
    # their three results come from memory
    assert memory.hits - before == 5
    assert "By now the sum is 6.0" in page(sums)
    before = memory.hits
    edit(sums.root / "posts" / "week-2.md", "n: 3", "n: 4")      # its front matter: planned again
    settle()
    assert sums.build().ran == 1 and memory.hits - before == 3   # week-1's plan, its 2 checks
    assert "Squares: 14" in (sums.root / "docs/blog/posts/week-2.md").read_text()
    warm_up(sums)
    before = memory.hits
    sums.write("experiments/helper.py", "SCALE = 3.0\n")   # every plan may change: none is reused
    settle()
    assert sums.build().ran == 1 and memory.hits == before
    assert "By now the sum is 12.0" in page(sums)

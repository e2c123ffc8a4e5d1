"""Pinned posts (`freeze: true`): finished weeks keep their results when shared code changes."""

from __future__ import annotations

from generator.commands.status import status

SHARED = "FACTOR = 2\n\n\ndef scaled(x):\n    return FACTOR * x\n"
READER = """
from experiments.shared import scaled


def uses(run, *, x: int = 3):
    return {"y": scaled(x)}
"""


def _states(journal) -> dict[str, str]:
    return {line.run.label: line.state.value for line in status(journal.root)}


def _two_weeks(journal):
    journal.write("experiments/shared.py", SHARED)
    journal.write("experiments/reader.py", READER)
    old = journal.post("week-1", "a: {run: reader.uses}\nb: {run: toy.square}",
                       "Old {{ a.y }} and {{ b.total }}.\n", extra="freeze: true  # finished\n")
    new = journal.post("week-2", "c: {run: reader.uses, params: {x: 4}}", "New {{ c.y }}.\n",
                       date="2024-07-11")
    assert journal.build().ran == 3
    return old, new


def test_a_code_edit_spares_pinned_posts_and_stales_the_others(journal):
    _two_weeks(journal)
    journal.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 10"))
    assert _states(journal) == {"posts/week-1.md:a": "frozen", "posts/week-1.md:b": "fresh",
                                "posts/week-2.md:c": "stale"}
    r = journal.cli("status", "--explain")
    assert "frozen" in r.stdout and "would be stale: experiments/shared.py changed" in r.stdout
    # --frozen passes on a pinned post, and fails on the unpinned one
    r = journal.cli("build", "--frozen")
    assert r.returncode == 1 and "posts/week-2.md:c" in r.stderr and "week-1.md:a" not in r.stderr
    summary = journal.build()
    assert summary.ran == 1
    assert "Old 6 and 30." in journal.html("week-1")   # as stored: 2 * 3
    assert "New 40." in journal.html("week-2")         # re-run: 10 * 4
    assert journal.cli("build", "--frozen").returncode == 0
    assert journal.cli("gc").returncode == 0  # the frozen result is in use: kept
    assert journal.build().ran == 0 and "Old 6 and" in journal.html("week-1")


def test_unpinning_runs_what_changed(journal):
    _two_weeks(journal)
    journal.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 10"))
    assert journal.cli("unfreeze", "week-1").returncode == 0
    assert _states(journal)["posts/week-1.md:a"] == "stale"
    journal.build()
    assert "Old 30 and 30." in journal.html("week-1")


def test_a_post_that_reused_a_result_keeps_it_when_pinned(journal):
    """Week 2 declares week 1's experiment: nothing runs, yet its result is its own to keep."""
    journal.write("experiments/shared.py", SHARED)
    journal.write("experiments/reader.py", READER)
    journal.post("week-1", "a: {run: reader.uses}", "First {{ a.y }}.\n")
    assert journal.build().ran == 1
    journal.post("week-2", "c: {run: reader.uses}", "Again {{ c.y }}.\n", date="2024-07-11",
                 extra="freeze: true\n")
    assert journal.build().ran == 0
    journal.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 10"))
    assert _states(journal) == {"posts/week-1.md:a": "stale", "posts/week-2.md:c": "frozen"}
    assert journal.build().ran == 1
    assert "First 30." in journal.html("week-1") and "Again 6." in journal.html("week-2")


def test_a_pinned_post_keeps_its_result_when_another_post_reruns_the_same_experiment(journal):
    journal.write("experiments/shared.py", SHARED)
    journal.write("experiments/reader.py", READER)
    journal.post("week-1", "a: {run: reader.uses}", "Old {{ a.y }}.\n", extra="freeze: true\n")
    journal.post("week-2", "c: {run: reader.uses}", "New {{ c.y }}.\n", date="2024-07-11")
    assert journal.build().ran == 1                      # one result, shared
    journal.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 10"))
    assert journal.build().ran == 1                      # week 2 runs with the new code...
    assert "New 30." in journal.html("week-2")
    assert "Old 6." in journal.html("week-1")            # ...and finished week 1 keeps its number
    assert _states(journal) == {"posts/week-1.md:a": "frozen", "posts/week-2.md:c": "fresh"}
    assert journal.build().ran == 0 and "Old 6." in journal.html("week-1")
    journal.build(rerun=("week-1/a",))                   # re-running the week itself moves it on
    assert "Old 30." in journal.html("week-1")
    assert _states(journal)["posts/week-1.md:a"] == "fresh"


def test_changing_a_pinned_experiments_declaration_runs_it(journal):
    old, _ = _two_weeks(journal)
    journal.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 10"))
    old.write_text(old.read_text().replace("a: {run: reader.uses}", "a: {run: reader.uses, params: {x: 1}}"))
    states = _states(journal)
    assert states["posts/week-1.md:a"] == "stale"
    assert "declaration in the pinned post changed" in journal.cli("status", "--explain").stdout
    journal.build()
    assert "Old 10 and 30." in journal.html("week-1")


def test_freeze_and_unfreeze_edit_one_line(journal):
    post = journal.post("week-1", "b: {run: toy.square}  # the squares", "Body {{ b.total }}.\n")
    text = post.read_text()
    r = journal.cli("freeze", "posts/week-1.md")
    assert r.returncode == 0, r.stderr
    pinned = post.read_text()
    assert pinned.replace("freeze: true\n", "", 1) == text and pinned.split("---")[1].count("freeze: true") == 1
    assert "already" in journal.cli("freeze", "week-1").stdout
    assert journal.cli("unfreeze", "week-1").returncode == 0
    assert post.read_text() == text
    post.write_text(text.replace("date:", "freeze: false  # not yet\ndate:"))
    journal.cli("freeze", "week-1")
    assert "freeze: true  # not yet\n" in post.read_text()
    r = journal.cli("freeze", "week-9")
    assert r.returncode == 2 and "no post 'week-9'" in r.stderr


def test_freeze_must_be_true_or_false(journal):
    journal.post("week-1", "b: {run: toy.square}", "{{ b.total }}\n", extra="freeze: yes please\n")
    r = journal.cli("status")
    assert r.returncode == 2 and "posts/week-1.md:4" in r.stderr and "true or false" in r.stderr

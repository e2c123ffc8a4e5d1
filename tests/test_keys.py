"""What a result's key covers: code as code (not its comments), every module that runs,
the generator's own code in the worker, and parameters and paths in one canonical form."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from generator.commands.status import status
from generator.commands.upgrade import upgrade_results
from generator.context import Journal
from generator.plan.freshness import State
from generator.source.code import RUNTIME_FILES, runtime_stamp

REPO = Path(__file__).resolve().parents[1]

SHARED = '''
"""Helpers every experiment here uses."""

FACTOR = 2  # the scale


def scaled(x):
    return FACTOR * x
'''


def _states(journal) -> dict[str, str]:
    return {line.run.name: line.state.value for line in status(journal.root)}


def _keys(journal) -> dict[str, str]:
    _, the_plan = Journal.open(journal.root).read()
    return {name: run.key for runs in the_plan.by_post.values() for name, run in runs.items()}


@pytest.fixture
def shared(journal):
    journal.write("experiments/shared.py", SHARED)
    journal.write("experiments/reader.py", """
        from experiments.shared import scaled

        def uses(run, *, x: int = 3):
            return {"y": scaled(x)}
    """)
    journal.write("experiments/lone.py", """
        def alone(run):
            return {"y": 1}
    """)
    journal.post("week-1", "r: {run: reader.uses}\nl: {run: lone.alone}", "{{ r.y }} {{ l.y }}\n")
    assert journal.build(site=False).ran == 2
    return journal


def test_comments_docstrings_and_layout_do_not_count(shared):
    edited = SHARED.replace('"""Helpers every experiment here uses."""', '"""Helpers, reworded."""')
    edited = edited.replace("# the scale", "# how much to scale by").replace(
        "def scaled(x):\n", "def scaled(x):\n    '''Scale x.'''\n\n    # double it\n")
    edited = edited.replace("FACTOR * x", "(FACTOR *\n            x)")
    shared.write("experiments/shared.py", edited)
    assert _states(shared) == {"r": "fresh", "l": "fresh"}
    assert shared.build(site=False).ran == 0


def test_a_code_edit_stales_exactly_its_readers(shared):
    shared.write("experiments/shared.py", SHARED.replace("FACTOR = 2", "FACTOR = 5"))
    assert _states(shared) == {"r": "stale", "l": "fresh"}
    r = shared.cli("status", "--explain")
    assert "experiments/shared.py changed" in r.stdout


def test_a_monkeypatch_in_a_package_init_stales_its_readers(journal):
    journal.write("experiments/pkg/__init__.py", "")
    journal.write("experiments/pkg/model.py", """
        import math

        def nll(run):
            return {"nll": math.log(27)}
    """)
    journal.write("experiments/other.py", "def alone(run):\n    return {'y': 1}\n")
    journal.post("week-1", "m: {run: pkg.model.nll}\no: {run: other.alone}", "{{ m.nll }}\n")
    assert journal.build(site=False).ran == 2
    journal.write("experiments/pkg/__init__.py", """
        import math
        math.log = lambda x: 0.5  # a patch that changes every number below
    """)
    assert _states(journal) == {"m": "stale", "o": "fresh"}
    assert "experiments/pkg/__init__.py is now" in journal.cli("status", "--explain").stdout \
        or "experiments/pkg/__init__.py changed" in journal.cli("status", "--explain").stdout
    assert journal.build(site=False).ran == 1


def test_what_a_package_init_imports_counts(journal):
    journal.write("experiments/pkg/__init__.py", "from . import patch  # noqa\n")
    journal.write("experiments/pkg/patch.py", "PATCHED = 1\n")
    journal.write("experiments/pkg/model.py", "def f(run):\n    return {'y': 1}\n")
    journal.post("week-1", "m: {run: pkg.model.f}", "{{ m.y }}\n")
    before = _keys(journal)["m"]
    journal.write("experiments/pkg/patch.py", "PATCHED = 2\n")
    assert _keys(journal)["m"] != before


def test_literal_dynamic_imports_are_followed_and_others_listed(journal):
    journal.write("experiments/helper.py", "VALUE = 1\n")
    journal.write("experiments/dyn.py", """
        import importlib


        def f(run, *, which: str = "helper"):
            helper = importlib.import_module("experiments.helper")
            __import__("experiments.helper")
            other = importlib.import_module("experiments." + which)
            return {"y": helper.VALUE + other.VALUE}
    """)
    journal.post("week-1", "d: {run: dyn.f}", "{{ d.y }}\n")
    before = _keys(journal)["d"]
    journal.write("experiments/helper.py", "VALUE = 2\n")
    assert _keys(journal)["d"] != before
    out = journal.cli("status", "--explain").stdout
    assert "not followed" in out and "experiments/dyn.py:7" in out
    assert "importlib.import_module('experiments.' + which)" in out


def test_an_int_for_a_float_and_spellings_of_a_path_share_a_key(journal):
    journal.write("data/x.csv", "1,2\n")
    journal.post("week-1", """
        a: {run: toy.steps, params: {lr: 1}, data: [./data/x.csv]}
        b: {run: toy.steps, params: {lr: 1.0}, data: [data/x.csv]}
        c: {run: toy.square, params: {scale: 2}, data: [data/../data/x.csv]}
        d: {run: toy.square, params: {scale: 2.0}, data: data/x.csv}
        e: {run: toy.square, params: {scale: 2.5}}
    """, "{{ a.steps }}\n")
    keys = _keys(journal)
    assert keys["a"] == keys["b"] and keys["c"] == keys["d"] != keys["e"]
    _, the_plan = Journal.open(journal.root).read()
    assert the_plan.by_post["posts/week-1.md"]["c"].params["scale"] == 2.0
    assert isinstance(the_plan.by_post["posts/week-1.md"]["c"].params["scale"], float)


def test_the_generator_code_that_runs_in_the_worker_is_stamped(tmp_path):
    here = REPO / "generator"
    for name in RUNTIME_FILES:
        shutil.copy(here / name, tmp_path / name)
    assert runtime_stamp(tmp_path) == runtime_stamp()
    handle = tmp_path / "handle.py"
    handle.write_text(handle.read_text() + "\n# a comment changes nothing\n")
    assert runtime_stamp(tmp_path) == runtime_stamp()
    handle.write_text(handle.read_text().replace("random.seed(self.seed)",
                                                 "random.seed(self.seed + 1)"))
    assert "random.seed(self.seed + 1)" in handle.read_text()
    assert runtime_stamp(tmp_path) != runtime_stamp()
    assert set(RUNTIME_FILES) >= {"handle.py", "figures.py"}


FORMAT_1 = "f6e2fda"  # the last commit of main whose results were stored under journal-key-1


def test_the_shipped_journal_upgrades_to_the_new_keys_without_running(tmp_path):
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{FORMAT_1}^{{commit}}"],
                      capture_output=True).returncode:
        pytest.skip(f"this clone lacks commit {FORMAT_1} (a shallow clone)")
    root = tmp_path / "journal"
    root.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", FORMAT_1, "posts", "experiments",
                              "results"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    before = {line.run.label: line for line in status(root)}
    assert len(before) >= 21
    assert {line.state for line in before.values()} == {State.STALE}
    assert all("journal upgrade" in line.reasons[0] for line in before.values())
    metrics = {p.parent.parent.name + "/" + p.parent.name: p.read_bytes()
               for p in (root / "results").glob("*/*/metrics.json")}

    done = upgrade_results(root)
    assert len(done) == len({line.run.key for line in before.values()})
    after = status(root)
    assert [x.state for x in after] == [State.FRESH] * len(after)
    # the same files, moved: every metric file is byte-identical to one stored before
    moved = sorted(p.read_bytes() for p in (root / "results").glob("*/*/metrics.json"))
    assert moved == sorted(metrics.values())
    assert upgrade_results(root) == []

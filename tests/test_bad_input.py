"""Bad input and faults: every error is clear, and nothing is lost.

Each case starts from a journal with one good post already built, adds something bad,
and runs the real `journal` command. For every case: the exit status is the one the
contract names (2 bad input, 1 an experiment failed, 0 accepted), the message names the
file, line and key where they exist, there is no traceback, and the results store is
byte-for-byte what it was, plus only results that fully finished.
"""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generator.errors import RunFailed

FAULTS = '''
import ctypes
import os
import time


def raises(run):
    raise ValueError("bad shapes: (32, 10) @ (27, 200)")


def exits(run):
    os._exit(7)


def segfault(run):
    ctypes.string_at(0)


def hangs(run):
    time.sleep(60)


def unserialisable(run):
    return {"tensor": object()}


def nan(run):
    return {"loss": float("nan")}


def escapes(run):
    with open(os.path.join(os.environ["JOURNAL_TEST_OUTSIDE"], "pwned.txt"), "w") as f:
        f.write("x")
    return {"x": 1}


def megabytes(run):
    for i in range(100_000):
        print(i, "y" * 60)
    return {"printed": 100_000}


def needs(run, *, n: int):
    return {"n": n}


def html(run):
    run.metric("label", "<img src=x onerror=alert(1)> **bold**")
    return {}
'''

GOOD = """---
title: Good
date: 2024-07-04
experiments:
  sq: {run: toy.square, params: {n: 3}}
---
# Good

Total {{ sq.total }}.
"""


def fm(experiments: str, body: str = "Body.\n", head: str = "date: 2024-07-11\n") -> str:
    return f"---\n{head}experiments:\n{experiments}---\n{body}"


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]
    code: int
    says: list[str] = field(default_factory=list)
    new_results: int = 0
    args: tuple[str, ...] = ("build",)


CASES = [
    # -- the file itself ------------------------------------------------------------
    Case("yaml-syntax", {"posts/bad.md": "---\ndate: 2024-07-11\nexperiments: {a: [1,\n---\nx\n"}, 2,
         ["posts/bad.md:", "front matter is not valid YAML"]),  # line 3 or 4 by YAML parser
    Case("not-a-mapping", {"posts/bad.md": "---\n- one\n- two\n---\nx\n"}, 2,
         ["posts/bad.md:2:", "front matter must be a mapping"]),
    Case("no-closing-dashes", {"posts/bad.md": "---\ndate: 2024-07-11\n# Title\n"}, 2,
         ["posts/bad.md:1:", "is never closed"]),
    Case("utf8-bom", {"posts/bad.md": "\ufeff" + fm("  b: {run: toy.square, params: {n: 2}}\n",
                                                     "{{ b.total }}\n")}, 0, new_results=1),
    Case("crlf", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: 2}}\n", "{{ b.total }}\n")
         .replace("\n", "\r\n")}, 0, new_results=1),
    Case("crlf-error-line", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: x}}\n")
         .replace("\n", "\r\n")}, 2, ["posts/bad.md:4: experiments.b.params.n: expected an integer"]),
    Case("tabs", {"posts/bad.md": "---\ndate: 2024-07-11\nexperiments:\n\tb: {run: toy.square}\n---\n"},
         2, ["posts/bad.md:4:", "YAML does not allow tabs"]),
    Case("empty-file", {"posts/bad.md": ""}, 2, ["posts/bad.md:1:", "has no front matter"]),
    Case("no-front-matter", {"posts/bad.md": "# Just prose\n"}, 2, ["posts/bad.md:1:", "has no front matter"]),
    Case("not-utf8", {"posts/bad.md": b"---\ndate: 2024-07-11\ntitle: caf\xe9\n---\n"}, 2,
         ["posts/bad.md:", "is not UTF-8 text"]),
    Case("missing-date", {"posts/bad.md": "---\ntitle: No date\n---\nx\n"}, 2,
         ["posts/bad.md:1: date: is missing"]),
    # -- run: ------------------------------------------------------------------------
    Case("unknown-function", {"posts/bad.md": fm("  b: {run: toy.nothing}\n")}, 2,
         ["posts/bad.md:4: experiments.b.run:", "no function 'nothing' in experiments/toy.py"]),
    Case("unknown-module", {"posts/bad.md": fm("  b: {run: tooy.square}\n")}, 2,
         ["posts/bad.md:4: experiments.b.run:", "not in the experiments package"]),
    Case("os-system", {"posts/bad.md": fm("  b: {run: os.system, params: {command: 'rm -rf /'}}\n")}, 2,
         ["posts/bad.md:4: experiments.b.run: 'os.system' is not in the experiments package"]),
    Case("builtins-eval", {"posts/bad.md": fm("  b: {run: builtins.eval}\n")}, 2,
         ["experiments.b.run: 'builtins.eval' is not in the experiments package"]),
    Case("relative-path", {"posts/bad.md": fm("  b: {run: ../toy.square}\n")}, 2,
         ["experiments.b.run: '../toy.square' is not of the form module.function"]),
    Case("file-path", {"posts/bad.md": fm("  b: {run: experiments/toy.py}\n")}, 2,
         ["experiments.b.run: 'experiments/toy.py' is not of the form module.function"]),
    Case("dunder", {"posts/bad.md": fm("  b: {run: toy.__builtins__.eval}\n")}, 2,
         ["is not of the form module.function"]),
    Case("run-not-a-string", {"posts/bad.md": fm("  b: {run: [toy, square]}\n")}, 2,
         ["experiments.b.run: `run:` must name a function"]),
    Case("syntax-error-in-module", {"experiments/broken.py": "def f(run:\n",
                                    "posts/bad.md": fm("  b: {run: broken.f}\n")}, 2,
         ["experiments.b.run: could not read the experiment's code"]),
    # -- params ----------------------------------------------------------------------
    Case("unknown-param", {"posts/bad.md": fm("  b: {run: toy.square, params: {colour: red}}\n")}, 2,
         ["experiments.b.params.colour: 'toy.square' has no parameter 'colour' (it takes: n, scale)"]),
    Case("missing-param", {"experiments/faults.py": FAULTS, "posts/bad.md": fm("  b: {run: faults.needs}\n")},
         2, ["experiments.b.params: 'faults.needs' needs parameter 'n'"]),
    Case("mistyped-param", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: ten}}\n")}, 2,
         ["posts/bad.md:4: experiments.b.params.n: expected an integer, got 'ten'"]),
    Case("bool-for-int", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: true}}\n")}, 2,
         ["experiments.b.params.n: expected an integer, got True"]),
    Case("params-not-a-mapping", {"posts/bad.md": fm("  b: {run: toy.square, params: [1, 2]}\n")}, 2,
         ["experiments.b.params: expected a mapping"]),
    Case("negative-steps", {"posts/bad.md": fm("  b: {run: toy.steps, params: {steps: -5}}\n")}, 2,
         ["experiments.b.params.steps: expected a positive integer, got -5"]),
    Case("nan-param", {"posts/bad.md": fm("  b: {run: toy.steps, params: {lr: .nan}}\n")}, 2,
         ["experiments.b.params.lr: expected a finite number, got nan"]),
    Case("inf-param", {"posts/bad.md": fm("  b: {run: toy.square, params: {scale: .inf}}\n")}, 2,
         ["experiments.b.params.scale: expected a finite number, got inf"]),
    Case("huge-int", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: 1" + "0" * 100 + "}}\n")}, 2,
         ["experiments.b.params.n: expected an integer smaller than 2**53"]),
    Case("float-for-int", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: 1e100}}\n")}, 2,
         ["experiments.b.params.n: expected an integer, got '1e100'"]),
    Case("bad-seed", {"posts/bad.md": fm("  b: {run: toy.square, seed: -1}\n")}, 2,
         ["experiments.b.seed: must be an integer from 0 to 2**32-1, got -1"]),
    # -- experiment settings ---------------------------------------------------------
    Case("duplicate-names", {"posts/bad.md": fm("  b: {run: toy.square}\n  b: {run: toy.plot}\n")}, 2,
         ["posts/bad.md:5: experiments.b: duplicate experiment name"]),
    Case("experiments-not-a-mapping", {"posts/bad.md": fm("  - toy.square\n")}, 2,
         ["posts/bad.md:3: experiments: must be a mapping"]),
    Case("spec-not-a-mapping", {"posts/bad.md": fm("  b: toy.square\n")}, 2,
         ["experiments.b: must be a mapping with at least `run: module.function`"]),
    Case("unknown-key", {"posts/bad.md": fm("  b: {run: toy.square, parms: {n: 2}}\n")}, 2,
         ["experiments.b.parms: unknown key"]),
    Case("bad-timeout", {"posts/bad.md": fm("  b: {run: toy.square, timeout: soon}\n")}, 2,
         ["experiments.b.timeout: expected a duration such as 90s, 20m or 1h30m, got 'soon'"]),
    Case("negative-timeout", {"posts/bad.md": fm("  b: {run: toy.square, timeout: -5s}\n")}, 2,
         ["experiments.b.timeout: expected a duration"]),
    Case("zero-timeout", {"posts/bad.md": fm("  b: {run: toy.square, timeout: 0}\n")}, 2,
         ["experiments.b.timeout: expected a duration"]),
    Case("bad-device", {"posts/bad.md": fm("  b: {run: toy.square, device: tpu}\n")}, 2,
         ["experiments.b.device: expected one of auto, cpu, cuda, mps, got 'tpu'"]),
    Case("data-outside", {"posts/bad.md": fm("  b: {run: toy.square, data: /etc/passwd}\n")}, 2,
         ["experiments.b.data.0: '/etc/passwd' is not a file inside the journal's folder"]),
    # -- names and slugs that would escape a folder ----------------------------------
    Case("name-dotdot", {"posts/bad.md": fm("  ../../b: {run: toy.square}\n")}, 2,
         ["experiments.../../b: an experiment name is a Python-style identifier"]),
    Case("name-absolute", {"posts/bad.md": fm("  /etc/b: {run: toy.square}\n")}, 2,
         ["an experiment name is a Python-style identifier"]),
    Case("name-nul", {"posts/bad.md": fm('  "a\\0b": {run: toy.square}\n')}, 2,
         ["an experiment name is a Python-style identifier", "'a\\x00b'"]),
    Case("name-very-long", {"posts/bad.md": fm(f"  {'b' * 300}: {{run: toy.square}}\n")}, 2,
         ["an experiment name is a Python-style identifier (letters, digits, '_'; at most 64)"]),
    Case("slug-dotdot", {"posts/bad.md": fm("", head="date: 2024-07-11\nslug: ../../etc\n")}, 2,
         ["posts/bad.md:3: slug: must be lowercase letters, digits and '-'"]),
    Case("slug-absolute", {"posts/bad.md": fm("", head="date: 2024-07-11\nslug: /tmp/x\n")}, 2,
         ["slug: must be lowercase letters"]),
    Case("slug-very-long", {"posts/bad.md": fm("", head=f"date: 2024-07-11\nslug: {'a' * 200}\n")}, 2,
         ["slug: must be lowercase letters, digits and '-' (at most 80)"]),
    Case("same-slug", {"posts/bad.md": fm("", head="date: 2024-07-11\nslug: good\n")}, 2,
         ["posts/good.md:1: slug: 'good' is also the slug of posts/bad.md"]),
    Case("unicode-title", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: 2}}\n",
                                              "# Semaine 1 : réseaux ✓\n\n{{ b.total }}\n",
                                              head="date: 2024-07-11\ntitle: \"Semaine 1 : réseaux ✓\"\n")},
         0, new_results=1),
    # -- references ------------------------------------------------------------------
    Case("undefined-experiment", {"posts/bad.md": fm("  b: {run: toy.square}\n", "See {{ c.total }}.\n")}, 2,
         ["posts/bad.md:6: {{ c.total }}: no experiment 'c' in this post's front matter"]),
    Case("undefined-metric", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: 2}}\n", "{{ b.totl }}\n")},
         2, ["posts/bad.md:6: {{ b.totl }}: toy.square reported no metric 'totl' (did you mean 'total'?)"],
         new_results=1),
    Case("undefined-figure", {"posts/bad.md": fm("  b: {run: toy.square, params: {n: 2}}\n",
                                                 "{{ figure b.curve }}\n")}, 2,
         ["posts/bad.md:6:", "saved no figure 'curve'"], new_results=1),
    Case("injection-dunder", {"posts/bad.md": fm("  b: {run: toy.square}\n", "{{ b.__class__.__mro__ }}\n")},
         2, ["posts/bad.md:6:", "cannot read '{{ b.__class__.__mro__ }}'"]),
    Case("injection-globals", {"posts/bad.md": fm("  b: {run: toy.square}\n",
                                                  "{{ param b.__init__.__globals__ }}\n")}, 2,
         ["posts/bad.md:6:", "'{{ param b.__init__.__globals__ }}': expected {{ param mlp.steps }}"]),
    Case("injection-jinja", {"posts/bad.md": fm("  b: {run: toy.square}\n",
                                                "{{ ''.__class__.__mro__[1].__subclasses__() }}\n")}, 2,
         ["posts/bad.md:6:", "cannot read"]),
    Case("html-in-metric", {"experiments/faults.py": FAULTS,
                            "posts/bad.md": fm("  b: {run: faults.html}\n", "Label: {{ b.label }}\n")},
         0, new_results=1),
    # -- experiments that fail (with --keep-going: the good post still builds) --------
    Case("raises", {"experiments/faults.py": FAULTS, "posts/bad.md": fm("  b: {run: faults.raises}\n")}, 1,
         ["b (faults.raises) in posts/bad.md", "ValueError: bad shapes: (32, 10) @ (27, 200)", "full log:"],
         args=("build", "--keep-going")),
    Case("os-exit", {"experiments/faults.py": FAULTS, "posts/bad.md": fm("  b: {run: faults.exits}\n")}, 1,
         ["the worker exited with status 7 before reporting a result"], args=("build", "--keep-going")),
    Case("segfault", {"experiments/faults.py": FAULTS, "posts/bad.md": fm("  b: {run: faults.segfault}\n")},
         1, ["the worker died from SIGSEGV (segmentation fault)"], args=("build", "--keep-going")),
    Case("hangs", {"experiments/faults.py": FAULTS,
                   "posts/bad.md": fm("  b: {run: faults.hangs, timeout: 1s}\n")}, 1,
         ["timed out after 1s"], args=("build", "--keep-going")),
    Case("unserialisable", {"experiments/faults.py": FAULTS,
                            "posts/bad.md": fm("  b: {run: faults.unserialisable}\n")}, 1,
         ["metric 'tensor' must be a number, bool or string, not object"], args=("build", "--keep-going")),
    Case("returns-nan", {"experiments/faults.py": FAULTS, "posts/bad.md": fm("  b: {run: faults.nan}\n")}, 1,
         ["metric 'loss' is not a finite number (nan)"], args=("build", "--keep-going")),
    Case("writes-outside", {"experiments/faults.py": FAULTS, "posts/bad.md": fm("  b: {run: faults.escapes}\n")},
         1, ["experiments write only inside their result folder; refused to write"],
         args=("build", "--keep-going")),
    Case("prints-megabytes", {"experiments/faults.py": FAULTS,
                              "posts/bad.md": fm("  b: {run: faults.megabytes}\n", "{{ b.printed }}\n")},
         0, new_results=1),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A journal with one good post, built once; each case works on a copy."""
    import os
    import subprocess
    import sys

    from conftest import make_journal

    root = make_journal(tmp_path_factory.mktemp("base") / "journal")
    (root / "posts/good.md").write_text(GOOD)
    r = subprocess.run([sys.executable, "-m", "generator", "-C", str(root), "build", "-q"],
                       capture_output=True, text=True, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in (root / "results").rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, built, tmp_path):
    import os
    import subprocess
    import sys

    root = tmp_path / "journal"
    shutil.copytree(built, root, ignore=shutil.ignore_patterns("site"))
    outside = tmp_path / "outside"
    outside.mkdir()
    for rel, content in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))
    before = _snapshot(root)
    env = dict(os.environ, JOURNAL_TEST_OUTSIDE=str(outside), COLUMNS="300")
    r = subprocess.run([sys.executable, "-m", "generator", "-C", str(root), *case.args],
                       capture_output=True, text=True, env=env, timeout=120)
    err = r.stdout + r.stderr
    assert r.returncode == case.code, err
    for text in case.says:
        assert text in err, err
    assert "Traceback" not in err, err

    after = _snapshot(root)
    for rel, content in before.items():  # nothing that was there changed
        if rel == "results/index.json" and case.new_results:
            continue  # it gains a line for each new result
        assert after.get(rel) == content, f"{rel} changed"
    added = {rel.split("/")[2] for rel in set(after) - set(before) if rel.count("/") >= 3}
    assert len(added) == case.new_results, sorted(set(after) - set(before))
    assert not list(outside.iterdir())  # nothing was written outside
    if case.code == 1:  # --keep-going: the good post is unaffected
        page = next((root / "site/blog").rglob("good/index.html")).read_text()
        assert "Total 5." in page
    if case.id == "html-in-metric":
        page = next((root / "site/blog").rglob("bad/index.html")).read_text()
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    if case.id == "unicode-title":
        assert "Semaine 1 : réseaux ✓" in next((root / "site/blog").rglob("bad/index.html")).read_text()


def test_debug_shows_the_traceback(built, tmp_path):
    import subprocess
    import sys

    root = tmp_path / "journal"
    shutil.copytree(built, root)
    (root / "posts/bad.md").write_text(fm("  b: {run: toy.nothing}\n"))
    r = subprocess.run([sys.executable, "-m", "generator", "-C", str(root), "--debug", "build"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback (most recent call last)" in r.stderr


@pytest.mark.parametrize("what", ["corrupt", "deleted"])
def test_damaged_result_is_detected_and_rerun_on_request(built, tmp_path, what):
    import subprocess
    import sys

    root = tmp_path / "journal"
    shutil.copytree(built, root)
    metrics = next((root / "results").rglob("metrics.json"))
    if what == "corrupt":
        metrics.write_text('{"total": 1000}\n')
        expected = "metrics.json was modified"
    else:
        metrics.unlink()
        expected = "metrics.json is missing"
    r = subprocess.run([sys.executable, "-m", "generator", "-C", str(root), "build"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and expected in r.stderr and "--rerun sq" in r.stderr
    r = subprocess.run([sys.executable, "-m", "generator", "-C", str(root), "status"],
                       capture_output=True, text=True)
    assert "corrupt" in r.stdout
    r = subprocess.run([sys.executable, "-m", "generator", "-C", str(root), "build", "--rerun", "sq"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert metrics.read_text().startswith('{\n  "n": 3,\n  "total": 5')


def test_disk_full_while_saving_keeps_the_store(built, tmp_path, monkeypatch):
    root = tmp_path / "journal"
    shutil.copytree(built, root)
    (root / "posts/bad.md").write_text(fm("  b: {run: toy.square, params: {n: 4}}\n", "{{ b.total }}\n"))
    before = _snapshot(root)

    def full(folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("generator.store.results._fsync_tree", full)
    from generator.commands.build import Options, build

    with pytest.raises(RunFailed, match="could not save the result: .*No space left on device"):
        build(root, Options(quiet=True))
    assert _snapshot(root) == before
    assert not any((root / "results" / ".tmp").iterdir())

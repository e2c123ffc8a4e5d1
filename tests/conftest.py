"""Tiny journals on disk, built for real with mkdocs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TOY = '''
import math
import os
import time

from generator.params import PositiveFloat, PositiveInt


def _count(name):
    counter = os.environ.get("JOURNAL_TEST_COUNTER")
    if counter:
        with open(counter, "a") as f:
            f.write(name + "\\n")


def square(run, *, n: int = 5, scale: float = 1.0):
    """Sum of scaled squares; logs a series."""
    _count("square")
    run.total(n)
    for i in range(n):
        run.log(i, value=scale * i * i)
    return {"total": sum(scale * i * i for i in range(n)), "n": n}


def steps(run, *, steps: PositiveInt = 10, lr: PositiveFloat = 0.1):
    return {"steps": steps}


def plot(run, *, points: int = 4):
    _count("plot")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(range(points), [i * i for i in range(points)])
    run.figure("curve", fig)
    run.artifact("words", "alpha\\nbeta <b>")
    run.metric("label", "<script>alert(1)</script>")
    return {"points": points}
'''


class Journal:
    """A journal folder for one test, with helpers to write posts and build."""

    def __init__(self, root: Path, counter: Path) -> None:
        self.root = root
        self.counter = counter

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def post(self, name: str, experiments: str, body: str, date: str = "2024-07-04",
             extra: str = "") -> Path:
        fm = f"title: \"{name}\"\ndate: {date}\n{textwrap.dedent(extra)}experiments:\n"
        fm += textwrap.indent(textwrap.dedent(experiments).strip("\n"), "  ") + "\n"
        return self.write(f"posts/{name}.md", f"---\n{fm}---\n{textwrap.dedent(body)}")

    def calls(self) -> list[str]:
        return self.counter.read_text().split() if self.counter.exists() else []

    def build(self, **options):
        from generator.commands.build import Options, build

        options.setdefault("quiet", True)
        options.setdefault("jobs", 2)
        return build(self.root, Options(**options))

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        env = dict(os.environ, JOURNAL_TEST_COUNTER=str(self.counter), COLUMNS="200")
        return subprocess.run([sys.executable, "-m", "generator", "-C", str(self.root), *args],
                              capture_output=True, text=True, env=env, timeout=timeout)

    def html(self, slug: str) -> str:
        pages = list((self.root / "site" / "blog").rglob(f"{slug}/index.html"))
        assert pages, f"no page for {slug} in the built site"
        return pages[0].read_text(encoding="utf-8")


HAND_WRITTEN = ("index.md", "about.md", "reference.md", "tutorial.md", "notebooks.md", "cluster.md", "progress.md",
                "tags.md", "blog/index.md",
                "assets/journal.css")
SHIPPED_TREES = ("docs/assets", "overrides")   # the math renderer, the theme's share-card meta


def make_journal(root: Path) -> Path:
    """An empty journal at ``root``: the repository's site config and hand-written pages,
    and an experiments package holding the toy module."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    for rel in HAND_WRITTEN:
        (root / "docs" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "docs" / rel, root / "docs" / rel)
    for rel in SHIPPED_TREES:
        shutil.copytree(REPO / rel, root / rel, dirs_exist_ok=True)
    (root / "posts").mkdir(exist_ok=True)
    (root / "experiments").mkdir(exist_ok=True)
    (root / "experiments" / "__init__.py").write_text("")
    (root / "experiments" / "toy.py").write_text(TOY)
    return root


@pytest.fixture
def journal(tmp_path, monkeypatch) -> Journal:
    root = make_journal(tmp_path / "journal")
    counter = tmp_path / "counter" / "calls.txt"
    counter.parent.mkdir()
    monkeypatch.setenv("JOURNAL_TEST_COUNTER", str(counter))
    monkeypatch.setenv("JOURNAL_WRITABLE", str(counter.parent))  # experiments may write only there
    return Journal(root, counter)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run as the journal runs experiments: with one torch thread (the tensors are tiny)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

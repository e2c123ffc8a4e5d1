"""The tutorial page, docs/tutorial.md, run as written: every shell block in order, every
file block written where its title says, in a temporary folder.

Two blocks cannot run as they stand, and are marked in the page by a comment:
`<!-- doc-test: serve -->` (it never returns) is started, fetched once and stopped;
`<!-- doc-test: remote -->` pushes to GitHub, so its remote is a bare repository in
the temporary folder instead, and the deploy really pushes there.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorial.md"
FENCE = re.compile(r'(?:<!-- doc-test: (?P<marker>\w+) -->\n)?```(?P<lang>\w+)(?: title="(?P<title>[^"]+)")?\n'
                   r"(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
RUN = ("sh", "bash", "console")


@dataclass(frozen=True)
class Block:
    lang: str
    title: str | None
    marker: str | None
    body: str
    line: int


def blocks(text: str) -> list[Block]:
    return [Block(m["lang"], m["title"], m["marker"], m["body"], text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fetch(url: str, deadline: float) -> str:
    while True:
        try:
            return urllib.request.urlopen(url, timeout=30).read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Tutorial:
    """Runs blocks in one working directory that follows the blocks' `cd`s, as a reader's shell."""

    def __init__(self, tmp: Path) -> None:
        self.cwd = tmp
        self.tmp = tmp
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        journal = bin_dir / "journal"       # the journal command of this checkout
        journal.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m generator "$@"\n')
        journal.chmod(0o755)
        self.env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                        PYTHONPATH=str(REPO), COLUMNS="200", GIT_CONFIG_GLOBAL=os.devnull,
                        GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.com",
                        GIT_COMMITTER_NAME="Ada", GIT_COMMITTER_EMAIL="ada@example.com",
                        GIT_CONFIG_NOSYSTEM="1")
        self.outputs: list[str] = []

    def shell(self, block: Block, script: str) -> str:
        where = self.tmp / ".cwd"
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", f"{script}\npwd > '{where}'"],
                              cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=300)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"docs/tutorial.md:{block.line}: exit {proc.returncode}\n{output}"
        self.cwd = Path(where.read_text().strip())
        return output

    def write(self, block: Block) -> str:
        path = self.cwd / block.title
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.body, encoding="utf-8")
        return ""

    def serve(self, block: Block) -> str:
        assert block.body.strip() == "journal serve", "the serve block holds only `journal serve`"
        server = subprocess.Popen(["journal", "serve", "--port", str(_free_port())], cwd=self.cwd,
                                  env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            seen = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                line = server.stdout.readline()
                assert line, f"serve stopped early:\n{''.join(seen)}"
                seen.append(line)
                if m := re.search(r"serving (http://\S+)", line):
                    return "".join(seen) + _fetch(m[1], deadline)
            raise AssertionError(f"serve printed no address within 120s:\n{''.join(seen)}")
        finally:
            server.terminate()
            server.wait(timeout=30)

    def remote(self, block: Block) -> str:
        bare = self.tmp / "github" / "my-journal.git"
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True, env=self.env)
        script, n = re.subn(r"https://github\.com/\S+\.git", str(bare), block.body)
        assert n == 1, "the remote block adds one GitHub remote"
        return self.shell(block, script)

    def run(self, block: Block) -> str:
        if block.title:
            return self.write(block)
        if block.marker:
            return getattr(self, block.marker)(block)
        return self.shell(block, block.body)


def test_the_tutorial_blocks_are_what_the_test_expects():
    found = blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert {b.marker for b in found} == {None, "serve", "remote"}
    assert all(b.lang in RUN or b.title for b in found), "every block is run or written"
    assert "Your first week" in (REPO / "mkdocs.yml").read_text()


def test_the_tutorial_runs_as_written(tmp_path):
    tutorial = Tutorial(tmp_path)
    found = blocks(TUTORIAL.read_text(encoding="utf-8"))
    ran = [(block.body, tutorial.run(block)) for block in found]

    def output(command: str) -> str:     # of the last block that runs `command`
        return next(out for body, out in reversed(ran) if command in body)

    journal = tmp_path / "my-journal"
    assert tutorial.cwd == journal
    assert "1 experiment ran, 1 from the cache" in output("journal show context")   # week 1 is fresh
    assert "metric    week-2/context.dev_nll = " in output("journal show context")
    explained = output("journal status --explain")
    assert re.search(r"stale\s+posts/week-2.md:context", explained)
    assert "block_size: 3 → 4" in explained
    assert "1 experiment ran, 1 from the cache" in ran[found.index(next(
        b for b in found if b.body.strip() == "journal build"))][1]
    assert "Week 2: A longer context" in output("journal serve")
    pushed = subprocess.run(["git", "-C", str(tmp_path / "github" / "my-journal.git"), "branch"],
                            capture_output=True, text=True, check=True).stdout
    assert "gh-pages" in pushed and "main" in pushed
    page = next((journal / "site" / "blog").rglob("week-2/index.html")).read_text(encoding="utf-8")
    assert re.search(r"sees the last\s+4 letters scores \d\.\d{3}", page)
    status = tutorial.shell(found[-1], "journal status").splitlines()
    assert status[-1] == "2 fresh"

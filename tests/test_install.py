"""The tool installed on its own, into a fresh virtual environment, the way a journal made by
`journal init` is published: its Pages workflow's `run:` lines, run as written in a clone of
the journal's repository, build the site from the committed results."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import generator
from generator.commands.build import Options, build

REPO = Path(__file__).resolve().parents[1]
GIT = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
       "GIT_COMMITTER_EMAIL": "ada@example.com", "GIT_CONFIG_GLOBAL": os.devnull}


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory) -> Path:
    """A new virtual environment holding nothing but pip."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
    return venv


def venv_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(GIT, PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_RETRIES="0", COLUMNS="200")
    return env


def run_lines(workflow: Path) -> list[str]:
    """The shell lines of the workflow's jobs, in order."""
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    return [step["run"] for job in data["jobs"].values() for step in job.get("steps", []) if "run" in step]


def sh(script: str, cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{script}\nexit {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def test_a_journal_made_by_init_builds_in_the_pages_workflows_install(tmp_path, fresh_venv):
    root = tmp_path / "my-journal"
    here = dict(os.environ, PYTHONPATH=str(REPO), **GIT)
    sh(f"{shlex.quote(sys.executable)} -m generator init {root} --github ada/my-journal "
       f"--tool {shlex.quote('journal @ ' + REPO.as_uri())}", tmp_path, here)
    # the author builds where experiments can run and commits the results
    assert build(root, Options(quiet=True, jobs=1, site=False)).ran == 1
    sh("git init -q -b main && git add -A && git commit -q -m 'Week 1'", root, here)
    # CI checks out the repository: only what was committed
    ci = tmp_path / "checkout"
    sh(f"git clone -q {root} {ci}", tmp_path, here)
    env = venv_env(fresh_venv)
    for line in run_lines(ci / ".github" / "workflows" / "pages.yml"):
        sh(line, ci, env)

    home = (ci / "site" / "index.html").read_text(encoding="utf-8")
    assert f"<!-- built by journal {generator.__version__} -->" in home
    assert list((ci / "site" / "blog").rglob("week-1/index.html"))
    # it was the installed tool, not this checkout, that built it, and it carries what init copies
    where = sh("python -c 'import generator; print(generator.__file__)'", tmp_path, env).strip()
    assert where.startswith(str(fresh_venv)), where
    sh("journal --version && journal init second", tmp_path, env)
    assert (tmp_path / "second" / "docs" / "reference.md").read_bytes() == \
        (REPO / "docs" / "reference.md").read_bytes()
    assert (tmp_path / "second" / "posts" / "week-1.md").is_file()

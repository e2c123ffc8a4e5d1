"""Publishing needs no training stack: the shipped Pages workflow's install (no torch) builds
the shipped journal with --frozen, and the same build fails, naming the experiment, once an
experiment's code changes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_install import REPO, run_lines, sh, venv_env

from generator.plan.keys import package_version
from generator.source.lock import read_lock


def test_the_lock_holds_the_installed_experiment_stack():
    lock = read_lock(REPO)
    assert lock, "experiments.lock is missing: `journal lock` writes it"
    for top in ("torch", "numpy", "names"):
        assert f"{top}=={lock[top]}" == package_version(top), f"`journal lock` after installing {top}"


def test_keys_read_versions_from_the_lock_not_from_what_is_installed(journal):
    journal.write("experiments/uses.py", "import torch\n\n\ndef f(run):\n    return {'x': 1}\n")
    journal.post("week-1", "u: {run: uses.f}", "{{ u.x }}\n")
    from generator.context import Journal

    def packages():
        _, the_plan = Journal.open(journal.root).read()
        return the_plan.runs[0].inputs["packages"]

    assert packages() == {"torch": package_version("torch")}
    journal.write("experiments.lock", "torch==9.9.9\n")
    assert packages() == {"torch": "torch==9.9.9"}
    r = journal.cli("run")   # experiments run only in the locked environment
    assert r.returncode == 2 and "pins torch==9.9.9" in r.stderr and "installed" in r.stderr
    assert not (journal.root / "results").exists() or not list((journal.root / "results").rglob("result.json"))


@pytest.fixture(scope="session")
def publish_venv(tmp_path_factory):
    """A copy of this repository's journal, installed by its Pages workflow's lines into a
    fresh virtual environment (pip's cache makes this fast after the first time)."""
    base = tmp_path_factory.mktemp("publish")
    ci = base / "checkout"
    skip = shutil.ignore_patterns("__pycache__", ".journal", ".generated", "*.egg-info", ".git")

    def ignore(folder, names):
        return set(skip(folder, names)) | ({"site"} if Path(folder) == REPO else set())

    shutil.copytree(REPO, ci, ignore=ignore)
    venv = base / "venv"
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True, timeout=600)
    env = venv_env(venv)
    try:
        for line in run_lines(ci / ".github" / "workflows" / "pages.yml"):
            if "journal build" in line:
                continue
            sh(line, ci, env)
    except AssertionError as e:
        if "Could not find a version" in str(e) or "No matching distribution" in str(e) \
                or "Failed to establish" in str(e):
            pytest.skip(f"no package index reachable: {str(e)[-300:]}")
        raise
    return ci, env


def test_frozen_build_without_torch(publish_venv):
    ci, env = publish_venv
    probe = subprocess.run(["python", "-c", "import torch"], cwd=ci, env=env, capture_output=True)
    assert probe.returncode != 0, "the publishing install must not install torch"
    out = sh("journal build --frozen", ci, env, timeout=600)
    assert "0 experiments ran" in out and (ci / "site" / "index.html").is_file()

    # an experiment's code changes in a post that is not pinned: --frozen fails and names it
    sh("journal unfreeze week-1", ci, env)
    neural = ci / "experiments" / "micrograd" / "moons.py"
    neural.write_text(neural.read_text() + "\n\nCHANGED = 1\n", encoding="utf-8")
    proc = subprocess.run(["journal", "build", "--frozen"], cwd=ci, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "posts/week-1.md:moons" in proc.stderr and "micrograd.train_moons" in proc.stderr
    assert "experiments/micrograd/moons.py changed" in proc.stderr

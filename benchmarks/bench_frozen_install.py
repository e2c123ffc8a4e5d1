"""What publishing costs: a fresh venv set up for a frozen build, then `journal build --frozen`
on the shipped journal, with the publishing install (no torch) and with the full one, side by side.

    publish:  pip install --no-deps -e . && pip install -r requirements-publish.txt
    full:     pip install -e .           (torch and the rest of the training stack)

Both with pip's cache as it is (warm after the first round), so the figure is what CI or the Pages
workflow pays on a runner whose cache is restored. Also reported: what each install put in the
venv (site-packages) and what pip would download for it (the wheels' sizes, measured once).
Target (issue 11): the publishing install + build under a third of the full one.

Run from the repository root: python benchmarks/bench_frozen_install.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INSTALLS = {
    "publish": ["pip install -q --no-deps -e {repo}", "pip install -q -r {repo}/requirements-publish.txt"],
    "full": ["pip install -q -e {repo}"],
}


def _sh(cmd: str, env: dict, cwd: Path) -> None:
    subprocess.run(cmd, shell=True, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def one(kind: str, work: Path) -> tuple[float, float, int]:
    """(install seconds, frozen build seconds, bytes in site-packages) in a fresh venv."""
    venv = work / f"venv-{kind}"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore", VIRTUAL_ENV=str(venv))
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    for cmd in INSTALLS[kind]:
        _sh(cmd.format(repo=REPO), env, work)
    installed = time.perf_counter() - t0
    journal = work / "journal"
    t0 = time.perf_counter()
    _sh(f"journal -C {journal} build --frozen --quiet", env, work)
    built = time.perf_counter() - t0
    site = next((venv / "lib").glob("python*/site-packages"))
    return installed, built, _size(site)


def wheels(kind: str, work: Path) -> int:
    """What pip fetches for that install: the wheels' total size."""
    folder = work / f"wheels-{kind}"
    args = ["-r", str(REPO / "requirements-publish.txt")] if kind == "publish" else [str(REPO)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(folder), *args],
                   check=True, stdout=subprocess.DEVNULL)
    return sum(p.stat().st_size for p in folder.iterdir() if p.suffix == ".whl")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    print(f"== frozen build from a fresh venv: publishing install vs full install "
          f"(load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        work = Path(tmp)
        skip = shutil.ignore_patterns(".git", "site", ".journal", "__pycache__", "*.egg-info")

        def ignore(folder, names):  # and the generated posts, which a checkout does not have
            return set(skip(folder, names)) | ({"posts"} if Path(folder) == REPO / "docs" / "blog" else set())

        shutil.copytree(REPO, work / "journal", ignore=ignore)
        times: dict[str, list[float]] = {"publish": [], "full": []}
        for r in range(args.repeat):
            for kind in ("publish", "full"):   # side by side in each round
                installed, built, size = one(kind, work)
                times[kind].append(installed + built)
                print(f"  round {r + 1}: {kind:7} install {installed:6.1f}s  build --frozen {built:5.1f}s"
                      f"  venv {size / 1e6:7.1f} MB")
        for kind in ("publish", "full"):
            print(f"  {kind:7} wheels pip fetches: {wheels(kind, work) / 1e6:7.1f} MB")
        pub, full = statistics.median(times["publish"]), statistics.median(times["full"])
        ratios = [a / b for a, b in zip(times["publish"], times["full"])]
        verdict = "MET" if pub / full < 1 / 3 else "missed"
        print(f"publish / full: {pub / full:.3f}× (per-round median {statistics.median(ratios):.3f}×; "
              f"medians {pub:.1f}s vs {full:.1f}s); target < 0.333×: {verdict}")


if __name__ == "__main__":
    main()

"""Result keys: exactly what decides a result, hashed.

A key is the sha256 of :func:`key_inputs`: the experiment's function, the syntax tree of
every local module that runs when it is imported (``generator.source.code.closure``), the
version stamp of the journal's own code that runs in the worker (the run handle, figure
saving and their style: ``runtime_stamp``), the version of every third-party package the
code imports (from ``experiments.lock`` when it names the package), the parameters, the
seed, the device and the content of every declared data file.

Results stored under an older key format, or under an earlier runtime stamp declared
equivalent (``EQUIVALENT_RUNTIMES``), are re-keyed by ``journal upgrade`` without running:
:func:`earlier_keys` lists the keys under which such a result may be stored.
"""

from __future__ import annotations

import os
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from generator.hashing import canonical, file_sha, sha256
from generator.source.code import Function, closure, code_sha, runtime_stamp
from generator.source.lock import LOCK_FILE, locked_version, read_lock
from generator.source.notebooks import RUNTIME as NOTEBOOK_RUNTIME
from generator.source.notebooks import notebook_code

KEY_FORMAT = "journal-key-2"     # bump when what a key hashes changes
LEGACY_FORMAT = "journal-key-1"  # results under it are re-keyed, not re-run (journal upgrade)

# Earlier runtime stamps (see ``runtime_stamp``) whose results the code now in handle.py,
# figures.py and style.py makes identically. A result stored under one of them is re-keyed
# by ``journal upgrade`` (and by every build), never re-run. When an edit to those files
# cannot change an existing result (a new method, a move), add the stamp it replaced here,
# saying what changed; an edit that can change a result must not be listed.
EQUIVALENT_RUNTIMES = {
    "e1bbfed4577f6f73": "the figure style (colours, width, type scale) moved from handle.py "
                        "into style.py; the handle gained saved_figures",
    "254b2d052d3405c9": "the handle gained checkpoints (resume, checkpoint, checkpoint_due, "
                        "attempts) and new_points for live views; a run that never calls them "
                        "makes what it made",
}
# The same for the code that runs a notebook experiment, by the ``code`` entries it had:
# before it was split, the whole of generator/notebook.py (publishing included) was hashed.
EQUIVALENT_NOTEBOOK_RUNTIMES = (
    {"generator/notebook.py": "57c4b687d1dee6d1c9161a85f37c65ce1774bc1f6f4d335d2b8a1808fcda5c31"},
)


@cache
def installed_dists(top: str) -> tuple[str, ...]:
    """The installed distributions that provide module ``top`` (none: not installed)."""
    from importlib import metadata

    try:  # the common case, a distribution named like its module: no scan of site-packages
        dist = metadata.distribution(top)
        dists = [dist.metadata["Name"]] if top in (dist.read_text("top_level.txt") or top).split() \
            else _distributions().get(top)
    except metadata.PackageNotFoundError:
        dists = _distributions().get(top)
    return tuple(sorted(set(dists or ())))


@cache
def package_version(top: str) -> str:
    """The installed version of the distribution that provides module ``top``."""
    from importlib import metadata

    dists = installed_dists(top)
    if not dists:
        return "unknown"
    try:
        # the local label (torch's "+cpu", "+cu128") names a build, not a release: a CPU
        # and a CUDA install of one version share keys; the device is recorded per result
        return "+".join(f"{d}=={metadata.version(d).split('+')[0]}" for d in dists)
    except metadata.PackageNotFoundError:
        return "unknown"


def key_version(root: Path, top: str) -> str:
    """The version a key records for module ``top``: the lock's (experiments.lock) when it
    names the package, so that nothing needs to be installed to compute it; else the
    installed one."""
    return locked_version(root, top, list(installed_dists(top))) or package_version(top)


def environment_problems(root: Path, runs) -> list[str]:
    """Packages the runs import whose installed version is not the locked one."""
    out = {}
    for run in runs:
        for top, locked in run.inputs.get("packages", {}).items():
            if read_lock(root) is None or locked_version(root, top, list(installed_dists(top))) is None:
                continue
            have = package_version(top)
            if have != locked:
                out[top] = (f"{LOCK_FILE} pins {locked} but "
                            + (f"{top} is not installed" if have == "unknown" else f"{have} is installed")
                            + f" (needed by {run.label})")
    return list(out.values())


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    from importlib import metadata

    return metadata.packages_distributions()


def _code(root: Path, fn: Function, sha, legacy: bool = False) -> tuple[str, dict, tuple]:
    """(function, code hashes, third-party packages) of a function's key."""
    if fn.notebook:
        return notebook_code(root, fn, sha)
    deps = closure(root, fn.module, legacy=legacy)
    return (f"{fn.module}.{fn.ref.rpartition('.')[2]}", {f: sha(root / f) for f in deps.files},
            deps.packages)


def key_inputs(root: Path, fn: Function, params: dict, seed: int, device: str,
               data: list[str]) -> dict[str, Any]:
    """Exactly what decides a result; the key is the hash of this (see docs/reference)."""
    function, code, packages = _code(root, fn, code_sha)
    return {
        "format": KEY_FORMAT,
        "function": function,
        "code": code,
        "runtime": runtime_stamp(),
        "packages": {p: key_version(root, p) for p in packages},
        "params": params,
        "seed": seed,
        "device": device,
        "data": {d: file_sha(root / d) for d in data},
    }


def legacy_inputs(root: Path, fn: Function, params: dict, seed: int, device: str,
                  data: list[str]) -> dict[str, Any]:
    """What key format 1 hashed: raw bytes of the statically imported modules, params and
    data paths as written. Only used to recognise results stored under that format."""
    function, code, packages = _code(root, fn, file_sha, legacy=True)
    return {
        "format": LEGACY_FORMAT,
        "function": function,
        "code": code,
        "packages": {p: key_version(root, p) for p in packages},
        "params": params,
        "seed": seed,
        "device": device,
        "data": {d: file_sha(root / d) for d in data},
    }


def normal_data_path(root: Path, path: str) -> str:
    """``./data/x.csv``, ``data//x.csv`` and ``data/../data/x.csv`` are all ``data/x.csv``."""
    full = Path(os.path.normpath(root / path))
    try:
        return full.relative_to(os.path.normpath(root)).as_posix()
    except ValueError:
        return path


def make_key(inputs: dict[str, Any]) -> str:
    return sha256(canonical(inputs))


def earlier_keys(inputs: dict[str, Any]) -> list[str]:
    """The keys a result for ``inputs`` had under runtime stamps declared equivalent to
    today's (newest rule first); a result stored under one is re-keyed, not re-run."""
    if inputs.get("format") != KEY_FORMAT:
        return []
    code = inputs.get("code", {})
    variants = [code]
    if any(rel in code for rel in NOTEBOOK_RUNTIME):
        rest = {k: v for k, v in code.items() if k not in NOTEBOOK_RUNTIME}
        variants += [dict(sorted({**rest, **old}.items())) for old in EQUIVALENT_NOTEBOOK_RUNTIMES]
    out = []
    for variant in variants:
        for stamp in (inputs.get("runtime"), *EQUIVALENT_RUNTIMES):
            candidate = {**inputs, "code": variant, "runtime": stamp}
            if candidate != inputs:
                out.append(make_key(candidate))
    return list(dict.fromkeys(out))


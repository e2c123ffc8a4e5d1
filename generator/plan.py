"""Planning: front matter experiments -> validated, keyed ``Run`` values.

Everything here is checked before anything runs, and every problem of every
post is collected and reported at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from generator.backends.base import Resources
from generator.code import CodeError, Function, closure, code_sha, find_function, runtime_stamp
from generator.errors import InputError, Problem
from generator.lock import LOCK_FILE, locked_version, read_lock
from generator.notebook import find_notebook, is_notebook, notebook_code
from generator.params import RULES
from generator.posts import Post

KEY_FORMAT = "journal-key-2"   # bump when what a key hashes changes
LEGACY_FORMAT = "journal-key-1"  # results under it are re-keyed, not re-run (see upgrade.py)
DEFAULT_TIMEOUT = 30 * 60.0    # seconds; long enough for a week's largest CPU run
DEVICES = ("auto", "cpu", "cuda", "mps")
EXPERIMENT_KEYS = {"run", "params", "quick", "timeout", "seed", "seeds", "device", "data", "publish",
                   "resources", "label", "threads"}   # label: how tables, charts and headlines name it
MAX_THREADS = 256
MAX_SEEDS = 64
RESOURCE_KEYS = ("cpus", "gpus", "memory")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*"
                       r"(?:(\d+(?:\.\d+)?)s)?\s*$")
_MAX_INT = 2**53  # larger integers lose precision in JSON readers


@dataclass(frozen=True)
class Run:
    """One experiment to run (or find in the store), as a post declared it."""

    post: str                # "posts/week-1.md"
    name: str                # the name the body uses
    function: str            # "makemore.mlp"
    module: str              # "experiments.makemore.neural"
    params: dict[str, Any] = field(hash=False)   # canonical: defaults + overrides
    seed: int = 0
    device: str = "auto"
    timeout: float = DEFAULT_TIMEOUT
    quick: bool = False
    key: str = ""
    inputs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    seeds: tuple[int, ...] = ()   # `seeds:` given: every seed of the experiment, this one among them
    publish: bool = False         # a notebook experiment whose executed notebook becomes a page
    # what the post itself says (run:, the params it sets, seed, device, data paths):
    # a pinned post's result stands as long as this does
    declared: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    unfollowed: tuple[str, ...] = field(default=(), compare=False)  # dynamic imports not followed
    legacy: Any = field(default=None, hash=False, compare=False, repr=False)  # seed -> format-1 key
    pinned: bool = field(default=False, compare=False)  # its post says `freeze: true`
    # what it asks of the machine (never part of the key: any backend makes the same result)
    resources: Resources = field(default_factory=Resources, hash=False, compare=False)
    threads: int = field(default=1, compare=False)  # torch/BLAS threads it runs with (not keyed)

    @property
    def short(self) -> str:
        return self.key[:12]

    @property
    def label(self) -> str:
        """post:name; a seed after the first adds @seed=N (the first keeps the unseeded label)."""
        extra = f"@seed={self.seed}" if self.seeds and self.seed != self.seeds[0] else ""
        return f"{self.post}:{self.name}{extra}"


@dataclass(frozen=True)
class Plan:
    """Per post, its experiments by name; and the distinct runs (one per key)."""

    by_post: dict[str, dict[str, Run]]     # an experiment with seeds: the run of its first seed
    runs: tuple[Run, ...]
    seeded: dict[tuple[str, str], tuple[Run, ...]] = field(default_factory=dict)  # (post, name) -> runs

    def replicas(self, run: Run) -> tuple[Run, ...]:
        """The runs of every seed of ``run``'s experiment (only ``run`` when it has one seed)."""
        return self.seeded.get((run.post, run.name), (run,))

    def every_run(self) -> list[Run]:
        """Every post's every experiment and seed (a key may repeat across posts)."""
        return [r for runs in self.by_post.values() for run in runs.values() for r in self.replicas(run)]


def parse_memory(value: Any) -> int:
    """Bytes from 2_000_000_000, "4GB", "512 MiB", "1.5g"."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        amount, unit = float(value), ""
    elif isinstance(value, str) and _MEMORY.match(value):
        number, unit = _MEMORY.match(value).groups()
        amount = float(number)
    else:
        raise ValueError
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[unit[:1].lower()]
    if unit[1:2].lower() != "i" and unit[:1]:
        scale = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}[unit[:1].lower()]
    size = int(amount * scale)
    if not math.isfinite(amount) or size < 2**20:
        raise ValueError
    return size


def parse_resources(spec: Any, bad) -> Resources:
    if not isinstance(spec, dict):
        bad((), "expected a mapping such as {cpus: 4, gpus: 1, memory: 16GB}")
        return Resources()
    values: dict[str, Any] = {}
    for key, value in spec.items():
        if key not in RESOURCE_KEYS:
            bad((key,), f"unknown resource; use {', '.join(RESOURCE_KEYS)}")
        elif key == "memory":
            try:
                values[key] = parse_memory(value)
            except ValueError:
                bad((key,), f"expected an amount such as 512MB, 4GB or 16GiB (at least 1MiB), "
                            f"got {value!r}")
        elif (isinstance(value, bool) or not isinstance(value, (int, float))
              or not math.isfinite(value) or value < 0 or value > 4096
              or (key == "cpus" and value == 0)):
            what = "a positive number of cores" if key == "cpus" else "a number of GPUs (0, 0.5, 1, 2...)"
            bad((key,), f"expected {what}, got {value!r}")
        else:
            values[key] = value
    return Resources(**values)


def parse_duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if not m or not any(m.groups()):
            raise ValueError
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    else:
        raise ValueError
    if not math.isfinite(seconds) or seconds <= 0 or seconds > 7 * 24 * 3600:
        raise ValueError
    return seconds


# -- parameter types ------------------------------------------------------

def _strip_optional(ann: str) -> tuple[str, bool]:
    parts = [p.strip() for p in ann.split("|")]
    if "None" in parts and len(parts) == 2:
        return next(p for p in parts if p != "None"), True
    m = re.fullmatch(r"(?:typing\.)?Optional\[(.+)\]", ann)
    if m:
        return m.group(1), True
    return ann, False


def check_value(ann: str | None, default: Any, value: Any) -> str | None:
    """None if ``value`` fits the parameter; else what was expected."""
    if ann is None:  # no annotation: the default's type decides
        if default is None:
            return None
        ann = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}.get(type(default))
        if ann is None:
            return None
    ann, optional = _strip_optional(ann.replace("typing.", ""))
    if value is None:
        return None if optional else f"a value of type {ann}, not null"
    return _check(ann, value)


def _check(ann: str, value: Any) -> str | None:
    ann = ann.rpartition(".")[2] if ann.startswith(("params.", "generator.params.")) else ann
    if ann in RULES:
        base, ok, expected = RULES[ann]
        return _check(base, value) or (None if ok(value) else expected)
    if ann == "bool":
        return None if isinstance(value, bool) else "true or false"
    if ann == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return "an integer"
        return None if abs(value) < _MAX_INT else f"an integer smaller than 2**53, not {value}"
    if ann == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "a number"
        if not math.isfinite(value):
            return "a finite number"
        return None if abs(value) < 1e300 else "a number of sensible size"
    if ann == "str":
        return None if isinstance(value, str) else "a string"
    m = re.fullmatch(r"(?:list|List|tuple|Tuple|Sequence)\[([\w.]+)(?:,\s*\.\.\.)?\]", ann)
    if m or ann in ("list", "tuple"):
        if not isinstance(value, list):
            return f"a list ({ann})"
        if m:
            for item in value:
                err = _check(m.group(1), item)
                if err:
                    return f"a list of {m.group(1)} ({err} for {item!r})"
        return None
    return None  # an annotation we do not know: accept any YAML value


def coerce(ann: str | None, default: Any, value: Any) -> Any:
    """A value as its parameter's type holds it: ``1`` given to a ``float`` is ``1.0``."""
    if ann is None:
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    ann, _ = _strip_optional(ann.replace("typing.", ""))
    ann = ann.rpartition(".")[2] if ann.startswith(("params.", "generator.params.")) else ann
    if ann in RULES:
        ann = RULES[ann][0]
    if ann == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    m = re.fullmatch(r"(?:list|List|tuple|Tuple|Sequence)\[([\w.]+)(?:,\s*\.\.\.)?\]", ann)
    if m and isinstance(value, list):
        return [coerce(m.group(1), None, v) for v in value]
    return value


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- planning ---------------------------------------------------------------

@cache
def _file_sha(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_sha(path: Path) -> str:
    st = path.stat()
    return _file_sha(path, st.st_mtime_ns, st.st_size)


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
    return hashlib.sha256(canonical(inputs).encode()).hexdigest()


def plan(posts: list[Post], root: Path, *, quick: bool = False) -> Plan:
    problems: list[Problem] = []
    by_post: dict[str, dict[str, Run]] = {}
    for post in posts:
        by_post[post.rel] = runs = {}
        for name, spec in post.experiments.items():
            run = _plan_one(post, name, spec, root, quick, problems)
            if run is not None:
                runs[name] = run
    if problems:
        raise InputError(problems)
    seeded = {(run.post, run.name): _replicas(run)
              for runs in by_post.values() for run in runs.values() if run.seeds}
    the_plan = Plan(by_post, (), seeded)
    distinct: dict[str, Run] = {}
    for run in the_plan.every_run():
        distinct.setdefault(run.key, run)
    return Plan(by_post, tuple(distinct.values()), seeded)


def _replicas(run: Run) -> tuple[Run, ...]:
    """One run per seed; each key is exactly what the experiment with that one seed would have."""
    out = []
    for seed in run.seeds:
        inputs = {**run.inputs, "seed": seed}
        out.append(replace(run, seed=seed, inputs=inputs, key=make_key(inputs),
                           declared={**run.declared, "seed": seed}))
    return tuple(out)


def _plan_one(post: Post, name: Any, spec: Any, root: Path, quick: bool,
              problems: list[Problem]) -> Run | None:
    def bad(keys: tuple, message: str) -> None:
        path = ("experiments", name) + keys
        problems.append(Problem(post.rel, post.line(*path), ".".join(map(str, path)), message))

    n0 = len(problems)
    if not isinstance(name, str) or not _NAME.match(name):
        bad((), "an experiment name is a Python-style identifier (letters, digits, '_'; at most "
                f"64), so the body can refer to it as name.metric; got {name!r}")
        return None
    if not isinstance(spec, dict):
        bad((), "must be a mapping with at least `run: module.function`")
        return None
    for key in spec:
        if key not in EXPERIMENT_KEYS:
            bad((key,), f"unknown key; an experiment takes {', '.join(sorted(EXPERIMENT_KEYS))}")
    if "label" in spec and not (isinstance(spec["label"], str) and spec["label"].strip()):
        bad(("label",), f"expected a short name in words, such as \"MLP, 3 characters\", got {spec['label']!r}")
    timeout = DEFAULT_TIMEOUT
    if "timeout" in spec:
        try:
            timeout = parse_duration(spec["timeout"])
        except ValueError:
            bad(("timeout",), f"expected a duration such as 90s, 20m or 1h30m, got {spec['timeout']!r}")
    resources = Resources()
    if "resources" in spec:
        resources = parse_resources(spec["resources"], lambda keys, msg: bad(("resources",) + keys, msg))
    threads = spec.get("threads", 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        bad(("threads",), f"expected a whole number of threads from 1 to {MAX_THREADS}, got {threads!r}")
        threads = 1
    device = spec.get("device", "auto")
    if device not in DEVICES:
        bad(("device",), f"expected one of {', '.join(DEVICES)}, got {device!r}")
    data = spec.get("data", [])
    if isinstance(data, str):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, str) for d in data):
        bad(("data",), "expected a path or a list of paths to data files the experiment reads")
        data = []
    for i, d in enumerate(data):
        p = (root / d).resolve()
        if not p.is_relative_to(root.resolve()) or not p.is_file():
            bad(("data", i), f"'{d}' is not a file inside the journal's folder")
    ref = spec.get("run")
    if not isinstance(ref, str):
        bad(("run",) if "run" in spec else (), "`run:` must name a function of the experiments "
                                                 "package, e.g. makemore.mlp")
        return None
    try:
        fn = find_notebook(root, ref) if is_notebook(ref) else find_function(root, ref)
    except CodeError as e:
        bad(("run",), str(e))
        return None
    except (OSError, SyntaxError) as e:
        bad(("run",), f"could not read the experiment's code: {e}")
        return None

    publish = spec.get("publish", False)
    if not isinstance(publish, bool):
        bad(("publish",), f"expected true or false, got {publish!r}")
    elif publish and not fn.notebook:
        bad(("publish",), "only a notebook experiment (run: notebooks/....ipynb) has a notebook "
                          "to publish")
    signature = {p.name: p for p in fn.params}
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        bad(("seed",), f"must be an integer from 0 to 2**32-1, got {seed!r}")
    params = _overrides(spec, "params", bad)
    if "seed" in params and "seed" not in signature:
        # `params: {seed: 1}` is a common way to write the run's seed
        if "seed" in spec:
            bad(("params", "seed"), "the seed is given twice (also as `seed:`)")
        seed = params.pop("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            bad(("params", "seed"), f"must be an integer from 0 to 2**32-1, got {seed!r}")
    seeds = _seeds(spec, seed, bad)
    quick_params = _overrides(spec, "quick", bad)
    values = {p.name: p.default for p in fn.params if not p.required}
    for section, given in (("params", params), ("quick", quick_params)):
        for key, value in given.items():
            p = signature.get(key)
            if p is None:
                known = ", ".join(signature) or "none"
                bad((section, key), f"'{ref}' has no parameter '{key}' (it takes: {known})")
                continue
            err = check_value(p.annotation, None if p.required else p.default, value)
            if err:
                bad((section, key), f"expected {err}, got {value!r}")
    values.update(params)
    if quick:
        values.update(quick_params)
    for p in fn.params:
        if p.required and p.name not in values:
            bad(("params",), f"'{ref}' needs parameter '{p.name}'")

    if len(problems) > n0:
        return None
    raw = _json_roundtrip(values)
    values = _json_roundtrip({k: coerce(signature[k].annotation, signature[k].default, v)
                              if k in signature else v for k, v in values.items()})
    paths = sorted({normal_data_path(root, d) for d in data})
    seed = seeds[0] if seeds else seed
    inputs = key_inputs(root, fn, values, seed, device, paths)
    declared = {"function": fn.ref, "seed": seed, "device": device, "data": paths,
                "params": _json_roundtrip({k: coerce(signature[k].annotation,
                                                     signature[k].default, v)
                                           for k, v in params.items() if k in signature})}
    return Run(post=post.rel, name=name, function=fn.ref, module=fn.module, params=values,
               seed=seed, seeds=seeds, device=device, timeout=timeout,
               quick=quick and bool(quick_params), publish=publish,
               key=make_key(inputs), inputs=inputs, declared=declared,
               pinned=post.meta.get("freeze") is True, threads=threads,
               unfollowed=closure(root, fn.module).unfollowed,
               legacy=lambda s: make_key(legacy_inputs(root, fn, raw, s, device, data)),
               resources=resources)


def _seeds(spec: dict, seed: Any, bad) -> tuple[int, ...]:
    """`seeds: 3` (seed, seed+1, seed+2) or `seeds: [1, 7, 42]`; () when not given."""
    if "seeds" not in spec:
        return ()
    value = spec["seeds"]
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(seed, int):
        if 1 <= value <= MAX_SEEDS and 0 <= seed and seed + value <= 2**32:
            return tuple(range(seed, seed + value))
    elif isinstance(value, list) and value and len(value) <= MAX_SEEDS \
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32 for v in value):
        if len(set(value)) < len(value):
            bad(("seeds",), f"a seed is listed twice: {value}")
        elif "seed" in spec:
            bad(("seeds",), "a list of seeds and `seed:` together: give one or the other")
        return tuple(value)
    bad(("seeds",), f"expected a number of seeds (1 to {MAX_SEEDS}, counting up from `seed:`) or a "
                    f"list of distinct seeds (integers from 0 to 2**32-1), got {value!r}")
    return ()


def _overrides(spec: dict, section: str, bad) -> dict[str, Any]:
    value = spec.get(section)
    if value is None:
        return {}
    if not isinstance(value, dict):
        bad((section,), "expected a mapping of parameter names to values")
        return {}
    out = {}
    for k, v in value.items():
        if not isinstance(k, str):
            bad((section,), f"parameter names are strings, got {k!r}")
            continue
        out[k] = v
    return out


def _json_roundtrip(values: dict) -> dict:
    """Canonical params: what JSON keeps (tuples become lists, dates become strings)."""
    return json.loads(json.dumps(values, default=str))

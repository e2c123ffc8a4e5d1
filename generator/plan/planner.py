"""Planning: front matter experiments -> validated, keyed ``Run`` values.

Everything here is checked before anything runs, and every problem of every
post is collected and reported at once (``posts/<file>.md:<line>: key: what was
expected``).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.errors import InputError, Problem
from generator.plan.keys import key_inputs, legacy_inputs, make_key, normal_data_path
from generator.plan.model import DEFAULT_TIMEOUT, Plan, Resources, Run
from generator.plan.validate import check_value, coerce, parse_duration, parse_resources
from generator.source.code import CodeError, closure, find_function
from generator.source.notebooks import find_notebook, is_notebook
from generator.source.posts import Post

DEVICES = ("auto", "cpu", "cuda", "mps")
EXPERIMENT_KEYS = {"run", "params", "quick", "timeout", "seed", "seeds", "device", "data", "publish",
                   "resources", "label", "threads", "keep_checkpoint"}   # label: how tables, charts and headlines name it
MAX_THREADS = 256
MAX_SEEDS = 64
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


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
    return Plan.of(by_post, seeded)


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
    keep = spec.get("keep_checkpoint", False)
    if not isinstance(keep, bool):
        bad(("keep_checkpoint",), f"expected true or false, got {keep!r}")
        keep = False
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
               resources=resources, notebook=fn.notebook, keep_checkpoint=keep)


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

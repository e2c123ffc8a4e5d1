"""Whether a post's experiment has a result it may use: fresh, stale, missing, corrupt or
(in a pinned post) frozen, and why. The policy lives here; the store only keeps results.

A pinned post (``freeze: true``) keeps the result it was last built with (the store's
index names it) as long as what the post itself declares (function, the params it sets,
seed, device, data paths) is unchanged, even when code, packages or data have moved on.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from generator.errors import CorruptStore
from generator.plan.keys import LEGACY_FORMAT, earlier_keys, normal_data_path
from generator.plan.model import Run
from generator.store import Result, Store


class State(str, Enum):
    FRESH = "fresh"
    STALE = "stale"       # a result for this post's experiment exists, but inputs changed
    MISSING = "missing"   # never run
    CORRUPT = "corrupt"   # files do not match their recorded hashes
    FROZEN = "frozen"     # in a pinned post: the stored result stands although inputs changed


Found = tuple[State, list[str], "Result | None"]


def state(store: Store, run: Run, *, check_files: bool = False) -> Found:
    """The state of ``run``'s result in ``store``, the reasons, and the result it may use."""
    previous = store.previous(run) if run.pinned else None   # the result it was built with
    if previous is not None and previous.key != run.key and declared_as(store, previous, run):
        return _frozen(store, previous, explain(previous.meta.get("inputs", {}), run.inputs), check_files)
    try:
        result = store.load(run)
    except CorruptStore as e:
        return State.CORRUPT, [e.why], Result(run.key, store.folder(run), {})
    if result is None:
        earlier = stored_earlier(store, run)
        if earlier is not None:
            fmt = earlier.meta.get("inputs", {}).get("format")
            what = f"key format {LEGACY_FORMAT}" if fmt == LEGACY_FORMAT else \
                "an earlier version of the journal's run handle that makes the same results"
            return State.STALE, [f"stored under {what}: `journal upgrade` re-keys it without "
                                 "running anything"], None
        if not run.pinned:
            previous = store.previous(run)   # to explain what changed
        if previous is None:
            return State.MISSING, ["never run"], None
        reasons = explain(previous.meta.get("inputs", {}), run.inputs)
        if run.pinned:
            if not declared_as(store, previous, run):
                return State.STALE, ["its declaration in the pinned post changed, so it runs: "
                                     + "; ".join(reasons)], None
            return _frozen(store, previous, reasons, check_files)
        return State.STALE, reasons, None
    if check_files:
        bad = store.verify(result)
        if bad:
            return State.CORRUPT, bad, result
    reads = store.changed_reads(result)
    if reads:
        if run.pinned:
            return State.FROZEN, [f"would be stale: {r}" for r in reads], result
        return State.STALE, reads, result
    return State.FRESH, [], result


def _frozen(store: Store, result: Result, reasons: list[str], check_files: bool) -> Found:
    if check_files:
        bad = store.verify(result)
        if bad:
            return State.CORRUPT, bad, result
    reasons = reasons + store.changed_reads(result)
    return State.FROZEN, [f"would be stale: {r}" for r in reasons], result


def declared_as(store: Store, result: Result, run: Run) -> bool:
    """Whether a stored result was made for what ``run``'s post declares now (its
    function, the params it sets, seed, device and data paths)."""
    inputs = result.meta.get("inputs", {})
    d = run.declared
    if result.meta.get("function") != d.get("function") or inputs.get("seed") != d.get("seed") \
            or inputs.get("device") != d.get("device"):
        return False
    stored = inputs.get("params", {})
    if any(k not in stored or stored[k] != v for k, v in d.get("params", {}).items()):
        return False
    paths = {normal_data_path(store.project, p) for p in inputs.get("data", {})}
    return paths == set(d.get("data", []))


def stored_earlier(store: Store, run: Run) -> Result | None:
    """An intact result stored for exactly this run under an earlier key: a runtime stamp
    declared equivalent (``keys.EQUIVALENT_RUNTIMES``) or the previous key format."""
    for key in earlier_keys(run.inputs):
        found = store.at(run.function, key)
        if found is not None:
            return found
    if run.legacy is not None:
        return store.at(run.function, run.legacy(run.seed))
    return None


def explain(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two key-input records."""
    if not old:
        return ["no record of the previous inputs"]
    out = []
    if old.get("format") != new.get("format"):
        out.append(f"key format {old.get('format')} → {new.get('format')}")
    if old.get("function") != new.get("function"):
        out.append(f"function {old.get('function')} → {new.get('function')}")
    same_format = old.get("format") == new.get("format")
    if same_format and old.get("runtime") != new.get("runtime"):
        out.append("the generator's run handle or figure saving changed")
    for section, what in (("code", "{} changed"), ("data", "data file {} changed")):
        o, n = old.get(section, {}), new.get(section, {})
        if not same_format:  # hashed differently: only what was added or removed is known
            o = {f: n.get(f) for f in o}
        for f in sorted(set(o) | set(n)):
            if f not in o:
                out.append(f"{f} is now imported" if section == "code" else f"data file {f} added")
            elif f not in n:
                out.append(f"{f} is no longer imported" if section == "code" else f"data file {f} removed")
            elif o[f] != n[f]:
                out.append(what.format(f))
    o, n = old.get("packages", {}), new.get("packages", {})
    for p in sorted(set(o) | set(n)):
        if o.get(p) != n.get(p):
            out.append(f"package {p}: {o.get(p, 'not used')} → {n.get(p, 'not used')}")
    o, n = old.get("params", {}), new.get("params", {})
    for p in sorted(set(o) | set(n)):
        if o.get(p, "∅") != n.get(p, "∅"):
            out.append(f"params.{p}: {_short(o.get(p, 'unset'))} → {_short(n.get(p, 'unset'))}")
    for k in ("seed", "device"):
        if old.get(k) != new.get(k):
            out.append(f"{k}: {old.get(k)} → {new.get(k)}")
    return out or ["inputs differ"]


def _short(v: Any) -> str:
    s = json.dumps(v)
    return s if len(s) <= 40 else s[:37] + "..."

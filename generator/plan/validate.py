"""Checking front-matter values before anything runs: durations, resources, and a
parameter's value against its annotation (``int``, ``list[float]``, ``PositiveInt``, ...).
Each checker returns what was expected, or raises ValueError, for the planner to report
with the post's file and line."""

from __future__ import annotations

import math
import re
from typing import Any

from generator.params import RULES
from generator.plan.model import Resources

RESOURCE_KEYS = ("cpus", "gpus", "memory")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*"
                       r"(?:(\d+(?:\.\d+)?)s)?\s*$")
_MAX_INT = 2**53  # larger integers lose precision in JSON readers


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

"""Hashes: one canonical JSON, one file hasher.

``canonical`` is the one way a value is written for hashing (result keys, a result's seal,
chart digests): sorted keys, no spaces. ``file_sha`` hashes a file's bytes once per version
of the file (its mtime and size), however often a build asks.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any


def canonical(obj: Any, *, ascii: bool = False) -> str:
    """``obj`` as compact JSON with sorted keys. ``ascii`` writes non-ASCII characters as
    ``\\u`` escapes (how a result's seal has always been computed); values JSON cannot hold
    are written as their ``str``."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=ascii, default=str)


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def digest(obj: Any, length: int = 64) -> str:
    """The sha256 of ``obj``'s canonical JSON, cut to ``length`` hex digits."""
    return sha256(canonical(obj))[:length]


@cache
def _file_sha(path: Path, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha(path: Path) -> str:
    """The sha256 of a file's bytes (computed again only when its mtime or size changes)."""
    st = path.stat()
    return _file_sha(path, st.st_mtime_ns, st.st_size)


def fresh_file_sha(path: Path) -> str:
    """The sha256 of a file's bytes as they are now, never from memory: for checking that
    a stored file is intact (an edit that keeps mtime and size is still seen)."""
    return _file_sha.__wrapped__(path, 0, 0)

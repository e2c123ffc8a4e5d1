"""The results store: small readable files, content-addressed, committed to git.

    results/<function>/<key16>/
        result.json     key, inputs, provenance, the data files read, a sha256 per file
        metrics.json    final metrics
        series.json     {name: [[step, value], ...]}
        examples.json   {metric: {split, values, weights}}: a metric example by example (optional)
        figures/        <name>.light.png, <name>.dark.png
        artifacts/      <name>.txt
        log.txt         what the run printed
        notebook.ipynb  a notebook experiment: the notebook as it ran
    results/index.json  post:experiment -> the key it used last (for `status --explain`)

A result is written in a staging folder and renamed into place only when
complete, so a store never holds half a result. ``result.json`` lists a hash
for every file; a result whose files do not match is reported as corrupt and
never used.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from generator.errors import CorruptStore, StoreWriteError
from generator.hashing import canonical, file_sha, fresh_file_sha


class Keyed(Protocol):
    """What the store knows of a run: its function (the folder), its key, how the build
    names it (``post:name``, for the index) and its name (for messages)."""

    function: str
    key: str
    name: str

    @property
    def label(self) -> str: ...

RESULT_FILE = "result.json"
NOTEBOOK_FILE = "notebook.ipynb"   # a notebook experiment's executed notebook


def folder_name(function: str) -> str:
    """The store's folder for an experiment: its function, or a notebook's path with '/' as '--'."""
    return function.replace("/", "--")


@dataclass(frozen=True)
class Result:
    key: str
    path: Path
    meta: dict[str, Any] = field(repr=False)

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """The final metrics; ±inf, stored as the strings "inf" and "-inf", as floats."""
        return {k: _INFINITE.get(v, v) if isinstance(v, str) else v
                for k, v in _read_json(self.path / "metrics.json", {}).items()}

    @cached_property
    def series(self) -> dict[str, list[list[float]]]:
        return _read_json(self.path / "series.json", {})

    @cached_property
    def examples(self) -> dict[str, dict[str, Any]]:
        """Metrics kept example by example (``run.examples``): name -> its split's identity,
        each example's value and weight (the metric is their weighted mean)."""
        return _read_json(self.path / "examples.json", {}, dict)

    @property
    def figures(self) -> list[str]:
        return self.meta.get("figures", [])

    @property
    def artifacts(self) -> list[str]:
        return self.meta.get("artifacts", [])

    @property
    def provenance(self) -> dict[str, Any]:
        return self.meta.get("provenance", {})

    def figure_path(self, name: str, variant: str) -> Path:
        return self.path / "figures" / f"{name}.{variant}.png"

    def artifact_text(self, name: str) -> str:
        return (self.path / "artifacts" / f"{name}.txt").read_text(encoding="utf-8")


_INFINITE = {"inf": math.inf, "-inf": -math.inf}  # JSON has no infinity: see handle._json_number


def _read_json(path: Path, default: Any, kind: type | None = None) -> Any:
    """A JSON file's value; ``default`` if there is no file; CorruptStore if it cannot be
    read, is not JSON, or (with ``kind``) holds something else."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise _damaged(path, f"is not valid JSON ({getattr(e, 'msg', e)}, "
                             f"line {getattr(e, 'lineno', '?')})") from None
    except OSError as e:
        raise _damaged(path, f"cannot be read ({e.strerror or e})") from None
    if kind is not None and not isinstance(value, kind):
        raise _damaged(path, f"holds a JSON {type(value).__name__}, not a "
                             f"{'mapping' if kind is dict else kind.__name__}")
    return value


def _damaged(path: Path, why: str) -> CorruptStore:
    why = f"{path.name} {why}"
    if path.name == "index.json":
        return CorruptStore(f"{_shown(path.parent)}/{why}. It only records which result each "
                            "experiment used last: delete it, and the next build writes it again.", why)
    return CorruptStore(f"stored result {_shown(path.parent)} is corrupt: {why}", why)


def _shown(path: Path) -> str:
    """A store path as the user sees it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def seal(meta: dict[str, Any]) -> str:
    """The hash result.json records of its own content (every key but ``sha256``)."""
    body = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(canonical(body, ascii=True).encode()).hexdigest()


class Store:
    def __init__(self, root: Path, project: Path) -> None:
        self.root = root
        self.project = project

    def folder(self, run: Keyed) -> Path:
        return self.root / folder_name(run.function) / run.key[:16]

    # -- reading --------------------------------------------------------------
    def load(self, run: Keyed) -> Result | None:
        """The stored result for this run's key, if there is one; CorruptStore (naming the
        folder and the fix) if its result.json is damaged."""
        path = self.folder(run)
        try:
            meta = _read_meta(path) if path.is_dir() else None
        except CorruptStore as e:
            raise CorruptStore(f"{e}; run `journal build --rerun {run.name}` to replace it",
                               e.why) from None
        if meta is None or meta.get("key") != run.key:
            return None
        return Result(run.key, path, meta)

    def verify(self, result: Result) -> list[str]:
        """Files of a result that are missing or differ from their recorded hash."""
        bad = []
        for rel, sha in result.meta.get("files", {}).items():
            p = result.path / rel
            if not p.is_file():
                bad.append(f"{rel} is missing")
            elif fresh_file_sha(p) != sha:
                bad.append(f"{rel} was modified")
        return bad

    def changed_reads(self, result: Result) -> list[str]:
        """Data files the run read (through the handle) that changed since."""
        out = []
        for rel, sha in result.meta.get("reads", {}).items():
            p = Path(rel) if Path(rel).is_absolute() else self.project / rel
            try:
                now = file_sha(p)
            except OSError:
                out.append(f"{rel} was removed")
                continue
            if now != sha:
                out.append(f"{rel} changed")
        return out

    def at(self, function: str, key: str) -> Result | None:
        """The intact result stored under ``key`` for ``function`` (None: none, or damaged)."""
        path = self.root / folder_name(function) / key[:16]
        try:
            meta = _read_meta(path) if path.is_dir() else None
        except CorruptStore:
            return None
        if not meta or meta.get("key") != key:
            return None
        return Result(key, path, meta)

    def rekey(self, run: Keyed, old: Result) -> Result:
        """Store ``old`` (a result of the previous key format whose inputs, read under that
        format, are this run's) under ``run``'s key: copy it, record the new key and inputs
        in result.json (the other files and their hashes do not change). Nothing runs."""
        staging = self.root / ".tmp" / f"{run.key[:16]}-{uuid.uuid4().hex[:8]}"
        staging.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(old.path, staging)
        meta = {"key": run.key, **{k: v for k, v in old.meta.items() if k not in ("key", "sha256")}}
        meta["inputs"] = run.inputs
        meta["rekeyed_from"] = {"key": old.key, "format": old.meta.get("inputs", {}).get("format")}
        meta = json.loads(json.dumps(meta, default=str))  # as it will read back
        meta["sha256"] = seal(meta)
        (staging / RESULT_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n",
                                           encoding="utf-8")
        _fsync_tree(staging)
        final = self.folder(run)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            shutil.rmtree(staging)
        else:
            os.rename(staging, final)
        return Result(run.key, final, meta)

    # -- the index: which key each post's experiment used last -----------------
    def _index_path(self) -> Path:
        return self.root / "index.json"

    def index(self) -> dict[str, str]:
        return _read_json(self._index_path(), {}, dict)

    def previous(self, run: Keyed) -> Result | None:
        key = self.index().get(run.label)
        if not isinstance(key, str) or not key:
            return None
        path = self.root / folder_name(run.function) / key[:16]
        try:
            meta = _read_meta(path)
        except CorruptStore:
            return None  # only used to explain what changed
        return Result(key, path, meta) if meta else None

    def write_index(self, runs: list[Keyed]) -> None:
        index = self.index()
        new = dict(index)
        for run in runs:
            if self.load(run) is not None:
                new[run.label] = run.key
        if new != index:
            self.root.mkdir(parents=True, exist_ok=True)
            _atomic_write(self._index_path(), json.dumps(dict(sorted(new.items())), indent=1) + "\n")

    def prune_index(self, used: set[str]) -> None:
        """Forget index entries whose result is gone."""
        index = self.index()
        kept = {k: v for k, v in index.items() if v in used}
        if kept != index:
            _atomic_write(self._index_path(), json.dumps(kept, indent=1) + "\n")

    # -- writing -------------------------------------------------------------
    def staging(self, run: Keyed) -> Path:
        path = self.root / ".tmp" / f"{run.key[:16]}-{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir(parents=True)
        except OSError as e:
            raise StoreWriteError(write_failure(path, e)) from None
        return path

    def commit(self, run: Keyed, staging: Path, meta: dict[str, Any]) -> Result:
        """Seal a finished run: hash its files, write result.json, rename into place."""
        files = {}
        for p in sorted(staging.rglob("*")):
            if p.is_file():
                files[p.relative_to(staging).as_posix()] = fresh_file_sha(p)
        meta = {"key": run.key, **meta, "files": files}
        meta = json.loads(json.dumps(meta, default=str))  # as it will read back
        meta["sha256"] = seal(meta)
        (staging / RESULT_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False,
                                                      default=str) + "\n", encoding="utf-8")
        _fsync_tree(staging)
        final = self.folder(run)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # a forced re-run: swap, so a reader never sees no result
            old = final.with_name(final.name + f".old-{uuid.uuid4().hex[:6]}")
            os.rename(final, old)
            os.rename(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, final)
        return Result(run.key, final, meta)

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def clean_staging(self) -> None:
        """Remove leftovers of builds that were killed (called under the lock).

        A forced re-run killed between its two renames left the last good result as
        ``<key>.old-*`` and nothing in its place: that copy is restored, not deleted."""
        shutil.rmtree(self.root / ".tmp", ignore_errors=True)
        if self.root.is_dir():
            for old in sorted(self.root.glob("*/*.old-*")):
                final = old.with_name(old.name.split(".old-")[0])
                if not final.exists():
                    os.rename(old, final)
                else:
                    shutil.rmtree(old, ignore_errors=True)
        for tmp in self.root.glob(".index.json.*") if self.root.is_dir() else ():
            tmp.unlink(missing_ok=True)

    def folders(self) -> Iterator[Path]:
        """Every result folder in the store (what it holds is not read)."""
        if not self.root.is_dir():
            return
        for meta_path in sorted(self.root.glob(f"*/*/{RESULT_FILE}")):
            if not meta_path.parent.name.startswith("."):
                yield meta_path.parent


def _read_meta(folder: Path) -> dict[str, Any] | None:
    """A result folder's result.json: None if absent, CorruptStore if damaged or edited."""
    path = folder / RESULT_FILE
    meta = _read_json(path, None, dict)
    if meta is None:
        return None
    if not meta:
        raise _damaged(path, "is empty")
    if "sha256" in meta and meta["sha256"] != seal(meta):
        raise _damaged(path, "was modified (its recorded hash does not match)")
    return meta


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StoreWriteError(write_failure(path, e)) from None


def write_failure(path: Path, e: OSError) -> str:
    """What to say when the store cannot be written."""
    why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
           errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied"}.get(e.errno, e.strerror or str(e))
    return (f"could not write {_shown(path)}: {why}; nothing was changed there "
            "(free some space or fix the permissions, then build again)")


def _fsync_tree(folder: Path) -> None:
    """Flush a result's files to disk before it is renamed into place."""
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

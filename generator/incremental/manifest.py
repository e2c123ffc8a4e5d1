"""The warm fast path: a record of everything a build read and wrote, checked by ``stat``.

After a build that succeeds, :func:`record` writes ``.journal/build.json``: the
signature (mtime, ctime, size, inode) of every file the build's planning,
keying and rendering could have read -- every post, the whole experiments
package (so a new module that an import would now find counts too), the
results store, data files, notebooks, files a result read, ``mkdocs.yml``,
``pyproject.toml``, ``experiments.lock``, the blog's authors, the generator's
own code, the folders packages are installed in, git's HEAD and refs (a page
links the commit that holds each result) -- and of every page the build wrote
under ``docs/``, with the options that shape the pages and what the build said.

The next build calls :func:`check` first. When every signature is what was
recorded, the pages in ``docs/`` are exactly what planning and rendering would
write again, so the build replays its messages and goes straight to the site
engine. Anything else -- a changed, new or removed file, a different option, a
damaged or older record -- takes the normal path, which records afresh.

A file whose timestamp is not safely older than the build that read it is
*racy* (git's word): it could change again within one timestamp tick and keep
its signature, so it is recorded as unknown and the next build does the work.
A page the build itself wrote is racy by that rule; it is recorded with the hash
of what the build wrote, which the next build compares with what is there.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from generator import __version__
from generator.hashing import fresh_file_sha, sha256

FILE = Path(".journal") / "build.json"
FORMAT = 1
RACY_NS = 50_000_000            # > one tick of the kernel's coarse file clock (1-10 ms)
COARSE_RACY_NS = 2_000_000_000  # a file system that keeps whole (or even) seconds
RACY = "racy"
INPUT_TREES = ("posts", "experiments", "results")   # walked whole, relative to the journal
INPUT_FILES = ("mkdocs.yml", "pyproject.toml", "experiments.lock", "docs/blog/.authors.yml")
_SKIP_DIRS = frozenset({"__pycache__", ".tmp"})
GENERATOR = Path(__file__).resolve().parents[1]   # the generator package: a tool edit counts


class Uncertain(Exception):
    """Something the record cannot describe soundly (a linked folder, an unreadable one)."""


def signature(path: str) -> list[int] | None:
    """(mtime, ctime, size, inode) of a file or folder, None when it does not exist."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise Uncertain(f"cannot read {path}: {e.strerror}") from None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def walk(folder: str, out: dict[str, list[int]]) -> None:
    """Every file under ``folder`` (compiled Python and staging folders aside) -> its signature."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as e:
        raise Uncertain(f"cannot list {folder}: {e.strerror}") from None
    with entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIP_DIRS:
                    walk(entry.path, out)
            elif entry.is_symlink() and entry.is_dir():
                raise Uncertain(f"{entry.path} links to a folder")
            elif not entry.name.endswith(".pyc"):
                try:
                    st = entry.stat()
                except OSError:
                    raise Uncertain(f"cannot read {entry.path}") from None
                out[entry.path] = [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def git_files(root: Path) -> list[str]:
    """The files whose change means the repository's history moved (HEAD, its branch, packed refs)."""
    try:
        return _git_files(root)
    except (OSError, UnicodeDecodeError) as e:
        raise Uncertain(f"cannot read the git repository: {e}") from None


def _git_files(root: Path) -> list[str]:
    for folder in (root, *root.parents):
        dot = folder / ".git"
        if dot.is_dir():
            gitdir = dot
            break
        if dot.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            gitdir = (folder / text.partition("gitdir:")[2].strip()).resolve()
            break
    else:
        return []
    common = gitdir
    if (gitdir / "commondir").is_file():
        common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    files = [str(gitdir / "HEAD"), str(common / "packed-refs")]
    try:
        head = (gitdir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return files
    if head.startswith("ref:"):
        ref = head[4:].strip()
        files += [str(gitdir / ref), str(common / ref)]
    return files


def options_key(opts, engine: str) -> dict:
    """What, besides files, decides the pages: the options that change them, and the runtime."""
    return {"format": FORMAT, "engine": engine, "quick": opts.quick, "frozen": opts.frozen,
            "strict": opts.strict_prose or opts.frozen, "keep_going": opts.keep_going,
            "version": __version__, "python": sys.version, "executable": sys.executable,
            "generator": str(GENERATOR)}


def usable(opts) -> bool:
    """Whether a build with these options may take (and record) the fast path."""
    return opts.site and not (opts.rerun or opts.rerun_all or opts.posts)


class Note(NamedTuple):
    """A line a build printed, to print again when a fast build replays it."""

    text: str
    markup: bool = True        # rich markup in ``text``
    highlight: bool = True     # rich's highlighting
    unless_quiet: bool = False  # left out under --quiet
    after: bool = False        # printed after the site is built (not before)


@dataclass
class Replay:
    """What a fast build says and returns in place of the work it skips."""

    notes: list[Note] = field(default_factory=list)
    cached: int = 0
    pages: int = 0


def sources(root: Path, quick: bool) -> dict[str, list[int] | None]:
    """The signatures of what every build reads (the files named by its posts aside: see
    :func:`extras`). Uncertain if something cannot be described."""
    sigs: dict[str, list[int] | None] = {}
    for tree in INPUT_TREES + ((".journal/quick",) if quick else ()):
        walk(str(root / tree), sigs)
    walk(str(GENERATOR), sigs)
    for rel in INPUT_FILES:
        sigs[str(root / rel)] = signature(str(root / rel))
    # where packages are installed (an install or upgrade changes a folder); not sys.path[0],
    # the folder of the script or the working directory, which depends on how the tool was started
    for path in [*git_files(root), *(p for p in sys.path[1:] if p and os.path.isdir(p))]:
        sigs[path] = signature(path)
    return sigs


def extras(paths: list[str]) -> dict[str, list[int] | None]:
    """The signatures of files a build read because its posts or results name them."""
    return {p: signature(p) for p in paths}


def _outputs(folders: list[Path]) -> dict[str, list[int]]:
    sigs: dict[str, list[int]] = {}
    for folder in folders:
        walk(str(folder), sigs)
    return sigs


def mark_racy(sigs: dict, since_ns: int) -> None:
    for path, sig in sigs.items():
        if not isinstance(sig, list):
            continue
        latest = max(sig[0], sig[1])
        margin = COARSE_RACY_NS if sig[0] % 1_000_000_000 == 0 else RACY_NS
        if latest >= since_ns - margin:
            sigs[path] = RACY


def _content(path: str) -> str:
    return fresh_file_sha(Path(path))


def _written_matches(recorded: dict, folders: list[Path]) -> bool:
    """Whether the pages written are as recorded: by signature, and for those written just
    before they were recorded, by content too."""
    now = _outputs(folders)
    if now.keys() != recorded.keys():
        return False
    for path, sig in now.items():
        was = recorded[path]
        if was == sig:
            continue
        if not (isinstance(was, dict) and was["sig"] == sig and _content(path) == was["sha"]):
            return False
    return True


def record(root: Path, opts, engine: str, started_ns: int, seen: dict, extra: list[str],
           outputs: list[Path], intended: dict[str, bytes | Path], replay: Replay) -> None:
    """Write the record of a build that succeeded (started at ``started_ns``, wall clock),
    which found ``seen`` (:func:`sources`) when it started and also read ``extra``.

    ``intended``: what the build wrote to each page and image (bytes, or the file copied):
    a page written during the build has a racy signature, so its content is recorded too."""
    try:
        written = _outputs(outputs)
        inputs = {**seen, **extras(extra)}
    except Uncertain:
        forget(root)
        return
    mark_racy(inputs, started_ns)
    racy = dict(written)
    mark_racy(racy, started_ns)
    for path, sig in racy.items():
        if sig == RACY:
            content = intended.get(path)
            if content is None:
                written[path] = RACY
                continue
            data = content.read_bytes() if isinstance(content, Path) else content
            written[path] = {"sig": written[path], "sha": sha256(data)}
    data = {"options": options_key(opts, engine), "extra": sorted(set(extra)),
            "outputs": [str(p) for p in outputs], "inputs": inputs, "written": written,
            "replay": {"notes": replay.notes, "cached": replay.cached, "pages": replay.pages}}
    path = root / FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def forget(root: Path) -> None:
    (root / FILE).unlink(missing_ok=True)


def check(root: Path, opts, engine: str) -> tuple[Replay | None, dict | None]:
    """The replay of the last build if nothing it read or wrote has changed since (else None),
    and :func:`sources` as found now (None if uncertain), for the build that follows."""
    try:
        seen = sources(root, opts.quick)
    except Uncertain:
        return None, None
    if not usable(opts):
        return None, seen
    try:
        data = json.loads((root / FILE).read_text(encoding="utf-8"))
        if data.get("options") != options_key(opts, engine):
            return None, seen
        if {**seen, **extras(data["extra"])} != data["inputs"]:
            return None, seen
        if not _written_matches(data["written"], [Path(p) for p in data["outputs"]]):
            return None, seen
        r = data["replay"]
        return Replay([Note(*n) for n in r["notes"]], int(r["cached"]), int(r["pages"])), seen
    except (OSError, ValueError, KeyError, TypeError, Uncertain):
        return None, seen


def now_ns() -> int:
    return time.time_ns()

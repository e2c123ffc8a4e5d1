"""Writing rendered pages into ``docs/``: a folder the journal owns is made to hold
exactly the pages and images of this build, and only changed files are rewritten (so the
site engine's incremental builds and ``journal serve`` see only real changes)."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.render.page import Page


def write(pages: list[Page], out_dir: Path, texts: dict[str, str] | None = None,
          files: dict[str, Path] | None = None, intended: dict[str, bytes | Path] | None = None) -> int:
    """Make ``out_dir`` hold exactly these pages and assets; only changed files are rewritten.

    ``intended``, when given, gets each file's path and what it should hold (bytes, or the
    file it is a copy of). Returns the number of files written."""
    want: dict[str, bytes | Path] = {}
    for page in pages:
        want[page.rel] = page.text.encode("utf-8")
        for rel, src in page.files.items():
            want[rel] = src
    for rel, text in (texts or {}).items():
        want[rel] = text.encode("utf-8")
    want.update(files or {})
    if intended is not None:
        intended.update((str(out_dir / rel), content) for rel, content in want.items())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for rel, content in want.items():
        dest = out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            if dest.is_file() and dest.stat().st_size == content.stat().st_size \
                    and dest.read_bytes() == content.read_bytes():
                continue
            shutil.copyfile(content, dest)
        else:
            if dest.is_file() and dest.read_bytes() == content:
                continue
            dest.write_bytes(content)
        written += 1
    for path in sorted(out_dir.rglob("*"), reverse=True):
        rel = path.relative_to(out_dir).as_posix()
        if path.is_file() and rel not in want:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return written

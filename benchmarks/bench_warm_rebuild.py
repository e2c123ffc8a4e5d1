"""Warm rebuild of a journal vs `mkdocs build` alone on the same rendered docs.

A warm rebuild runs nothing (every result is cached): the journal reads the posts,
plans and keys every experiment, checks the store (hashing each result's files),
renders the pages, writes only what changed, then builds the site with mkdocs. Its
cost over mkdocs alone is the journal's overhead.

The journal: the shipped one (a copy of this repository's posts/, experiments/,
results/ and docs/ in a temporary folder) when it has posts and every result is fresh;
otherwise, or with --generated, a generated journal of --posts posts (default 8) with
three cheap pure-Python experiments each, the first two drawing a matplotlib figure.

Two comparisons, each interleaved and repeated:
  in-process   generator.build.build(root, Options(quiet=True)) vs
               generator.site.build_site(root), alternating in this process; generator's
               memo caches are cleared before each journal build, as in a fresh process
  subprocess   `journal build -q` vs `mkdocs build -q`, each a fresh interpreter
               (adds the journal's imports; skipped with --no-cli)

Target: warm rebuild <= 1.15x mkdocs alone.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import _common as c

TARGET = 1.15


def shipped_journal() -> Path | None:
    """A temporary copy of the shipped journal if it has posts and fresh results."""
    if not any((c.REPO / "posts").glob("*.md")) or not (c.REPO / "results").is_dir():
        print("shipped journal: no posts or no results/ yet; using a generated journal")
        return None
    from generator.commands.status import status
    from generator.errors import JournalError

    try:
        lines = status(c.REPO)
    except JournalError as e:
        print(f"shipped journal: `journal status` fails ({str(e).splitlines()[0]}); "
              "using a generated journal")
        return None
    stale = [f"{x.run.label}: {x.state.value}" for x in lines
             if x.state.value not in ("fresh", "frozen")]   # frozen: pinned, and used as is
    if not lines or stale:
        print(f"shipped journal: {len(stale)} of {len(lines)} results not fresh "
              f"({', '.join(stale[:3])}{' ...' if len(stale) > 3 else ''}); using a generated journal")
        return None
    dest = c.temp_dir("shipped")
    skip = {".git", "site", ".journal", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache",
            ".benchmarks", ".github", ".ci", "benchmarks", "tests", "build", "dist", ".venv"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        out = {n for n in names if n in skip or n.endswith(".egg-info")}
        if here == c.REPO / "docs":
            out |= {".generated"}
        if here == c.REPO / "docs" / "blog":
            out |= {"posts"}
        if here == c.REPO / "results":
            out |= {".tmp"}
        return out

    shutil.copytree(c.REPO, dest, ignore=ignore, dirs_exist_ok=True)
    print(f"shipped journal: {len(lines)} fresh results; copied to {dest}")
    return dest


def generated_journal(posts: int) -> Path:
    from generator.commands.build import Options, build

    root = c.cheap_journal(c.temp_dir("warm"), posts, figures=min(2, posts))
    t0 = time.perf_counter()
    s = build(root, Options(quiet=True))
    print(f"generated journal: {posts} posts, {s.ran} experiments run cold in "
          f"{time.perf_counter() - t0:.1f}s ({root})")
    return root


def main() -> None:
    p = c.parser(__doc__)
    p.add_argument("--generated", action="store_true", help="use a generated journal even if "
                   "the shipped one is ready")
    p.add_argument("--posts", type=int, default=8, help="posts of the generated journal")
    p.add_argument("--no-cli", action="store_true", help="skip the subprocess comparison")
    p.add_argument("--profile", action="store_true", help="cProfile one warm build afterwards")
    args = p.parse_args()
    repeat = args.repeat or (3 if args.quick else 9)
    c.header("warm rebuild vs mkdocs alone")
    root = None if args.generated else shipped_journal()
    kind = "shipped" if root else "generated"
    root = root or generated_journal(args.posts)
    try:
        from generator.commands.build import Options, build

        t0 = time.perf_counter()
        s = build(root, Options(quiet=True))  # renders, draws charts into the cache
        print(f"first warm build: {time.perf_counter() - t0:.2f}s, {s.pages} pages, "
              f"{s.cached} cached results, {s.ran} ran")

        t = c.warm_compare(root, repeat, subprocesses=False, label="in-process")
        phases = t.pop("_phases", None)
        results = [("in-process", t)]
        if not args.no_cli:
            results.append(("subprocess", c.warm_compare(root, repeat, subprocesses=True,
                                                         label="subprocess")))
        print(f"\njournal: {kind}, {s.pages} posts, {s.cached} results")
        for name, times in results:
            print(f"{name}:")
            print(f"  journal build  {c.spread(times['journal'])}")
            print(f"  mkdocs alone   {c.spread(times['mkdocs'])}")
            print("  " + c.ratio_line("warm rebuild / mkdocs", times["journal"], times["mkdocs"],
                                      TARGET))
        if phases is not None:
            print("phases of an in-process warm build (medians):")
            print(phases.report(results[0][1]["journal"]))
        if args.profile:
            c.profile_build(root)
    finally:
        c.cleanup(root, args.keep)


if __name__ == "__main__":
    sys.exit(main())

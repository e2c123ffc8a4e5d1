"""A large journal: 300 posts x 3 cached experiments. Warm rebuild vs mkdocs alone, and
`journal status`.

The journal is generated in a temporary folder (or --dir, where it is kept and reused
by later runs while its results stay fresh): each post declares three cheap pure-Python
experiments whose params differ per post (900 distinct keys) and uses metrics, a
parameter, a table and a text artifact in its body; every third post also has a chart
(drawing a chart once costs about 0.4 s here; a warm build reuses the chart cache).

Filling the cache runs the 900 experiments once through the journal's executor:
  --fill fork   (default) generator.execute.Executor with the "fork" start method, so a
                worker starts in milliseconds instead of re-importing Python; the worker
                code, the staging and the store are the journal's own
  --fill cli    `journal run -q --jobs 4`, exactly what a user runs (spawned workers; on
                2 cores this takes several minutes for 900 runs)
A first full build then renders every page and draws the charts into the chart cache.

Measured, interleaved:
  warm rebuild   generator.build.build (caches cleared, as in a fresh process) vs
                 generator.site.build_site on the same rendered docs, in this process
  `journal status` in a fresh interpreter (what a user waits for), and status() in-process
With --cli also `journal build -q` vs `mkdocs build -q` as subprocesses.

Targets: warm rebuild <= 1.3x mkdocs alone; `journal status` under 2 s.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from pathlib import Path

import _common as c

TARGET = 1.3
STATUS_TARGET_S = 2.0


def fresh(root: Path, posts: int) -> bool:
    """Whether ``root`` already holds this journal with every result fresh."""
    if len(list((root / "posts").glob("*.md"))) != posts:
        return False
    from generator.commands.status import status

    try:
        return all(x.state.value == "fresh" for x in status(root))
    except Exception:  # noqa: BLE001 - anything odd: make it again
        return False


def fill(root: Path, how: str, jobs: int) -> None:
    from generator.context import Journal
    from generator.run.backends.local import LocalBackend
    from generator.run.execute import Executor
    from generator.run.progress import reporter

    t0 = time.perf_counter()
    if how == "cli":
        c.cli(root, "run", "-q", "--jobs", str(jobs))
    else:
        journal = Journal.open(root)
        _, the_plan = journal.read()
        runs = list(the_plan.runs)
        backend = LocalBackend(jobs, ctx=mp.get_context("fork"))  # the same worker, started by fork
        ex = Executor(journal.store_for, journal.root, journal.logs, backend=backend,
                      reporter=reporter(len(runs), quiet=True))
        outcomes = ex.run_all(runs)
        journal.store.write_index(runs)
        failed = [o for o in outcomes if o.status.value != "ran"]
        if failed:
            raise SystemExit(f"{len(failed)} runs failed, e.g. {failed[0].error}")
    print(f"filled the cache ({how}, jobs={jobs}) in {time.perf_counter() - t0:.1f}s", flush=True)


def main() -> None:
    p = c.parser(__doc__)
    p.add_argument("--posts", type=int, default=None, help="posts (default 300; --quick: 60)")
    p.add_argument("--dir", type=Path, default=None,
                   help="keep the journal here and reuse it next time if still fresh")
    p.add_argument("--fill", choices=("fork", "cli"), default="fork")
    p.add_argument("--jobs", type=int, default=4, help="workers for filling the cache")
    p.add_argument("--cli", action="store_true", help="also compare `journal build -q` with "
                   "`mkdocs build -q` as subprocesses")
    p.add_argument("--profile", action="store_true", help="cProfile one warm build afterwards")
    args = p.parse_args()
    posts = args.posts or (60 if args.quick else 300)
    repeat = args.repeat or 3
    c.header(f"a journal of {posts} posts x 3 cached experiments")
    root = args.dir.resolve() if args.dir else c.temp_dir("many")
    try:
        if args.dir and fresh(root, posts):
            print(f"reusing {root}: {posts} posts, every result fresh")
        else:
            if args.dir and root.exists():
                import shutil

                shutil.rmtree(root)
            t0 = time.perf_counter()
            c.cheap_journal(root, posts, chart_every=3)
            print(f"generated {posts} posts in {time.perf_counter() - t0:.2f}s: {root}")
            fill(root, args.fill, args.jobs)
        from generator.commands.build import Options, build
        from generator.commands.status import status

        t0 = time.perf_counter()
        s = build(root, Options(quiet=True))
        print(f"first full build: {time.perf_counter() - t0:.1f}s ({s.pages} pages, {s.cached} "
              f"cached, {s.ran} ran; draws any chart not in the chart cache)", flush=True)

        t = c.warm_compare(root, repeat, subprocesses=False, label="in-process")
        phases = t.pop("_phases")
        sub = c.warm_compare(root, repeat, subprocesses=True, label="subprocess") if args.cli else None

        def status_cli() -> None:
            c.cli(root, "status")

        def status_api() -> None:
            c.clear_generator_caches()
            status(root)

        st = c.interleave({"cli": status_cli, "api": status_api}, repeat, label="status")
        out = c.cli(root, "status").stdout.strip().splitlines()

        print(f"\njournal: {s.pages} posts, {s.cached} results ({root})")
        print("warm rebuild, in-process:")
        print(f"  journal build  {c.spread(t['journal'])}")
        print(f"  mkdocs alone   {c.spread(t['mkdocs'])}")
        print("  " + c.ratio_line("warm rebuild / mkdocs", t["journal"], t["mkdocs"], TARGET))
        if sub:
            print("warm rebuild, subprocesses:")
            print(f"  journal build  {c.spread(sub['journal'])}")
            print(f"  mkdocs alone   {c.spread(sub['mkdocs'])}")
            print("  " + c.ratio_line("warm rebuild / mkdocs", sub["journal"], sub["mkdocs"], TARGET))
        print("phases of an in-process warm build (medians):")
        print(phases.report(t["journal"]))
        k = c.med(st["cli"])
        print(f"`journal status` ({len(out) - 1} lines, last: {out[-1]!r}):")
        print(f"  fresh process  {c.spread(st['cli'])}  target < {STATUS_TARGET_S:.0f}s: "
              f"{'MET' if k < STATUS_TARGET_S else 'MISSED'}")
        print(f"  in-process     {c.spread(st['api'])}  (generator.build.status, caches cleared)")
        if args.profile:
            c.profile_build(root)
    finally:
        if args.dir:
            print(f"kept {root}")
        else:
            c.cleanup(root, args.keep)


if __name__ == "__main__":
    sys.exit(main())

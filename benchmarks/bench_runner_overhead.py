"""Fixed cost of the runner: one trivial experiment through the journal vs a direct call.

Side by side, interleaved, in one process:

  direct    the experiment function called with a RunHandle (module already imported),
            plus handle.finish() (what writes metrics.json and series.json)
  executor  generator.execute.Executor.run_all on the one run: a spawned worker,
            staging, sealing and renaming the result into the store (a forced re-run)
  cli       `journal -C ROOT run -q NAME` in a fresh interpreter: everything a user
            waits for (interpreter start, imports, planning, the worker)

Target: executor - direct <= 1 s. The cli figure is printed alongside.
Then a breakdown of where a worker's time goes (spawning a bare process, the imports
a worker does, git.commit()).
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import subprocess
import sys
import tempfile
from pathlib import Path

import _common as c

TARGET_S = 1.0


def _noop() -> None:
    pass


def main() -> None:
    args = c.parser(__doc__).parse_args()
    repeat = args.repeat or (4 if args.quick else 10)
    c.header("runner overhead: one trivial experiment")
    root = c.new_journal(c.temp_dir("overhead"), {"cheap": c.CHEAP})
    c.write_post(root, "only", "Only", "2024-07-04",
                 {"tiny": "{run: cheap.curve, params: {n: 20, tag: 7}}"},
                 "# Only\n\nThe loss reached {{ tiny.final:.4f }}.\n")
    sys.path.insert(0, str(root))
    try:
        from generator import git
        from generator.commands.build import Options, build
        from generator.context import Journal
        from generator.handle import RunHandle
        from generator.run.backends.local import LocalBackend
        from generator.run.execute import Executor
        from generator.run.progress import reporter

        build(root, Options(site=False, quiet=True, jobs=1))  # the cold run fills the store
        journal = Journal.open(root)
        _, the_plan = journal.read()
        (run,) = the_plan.runs
        module = importlib.import_module(run.module)
        fn = getattr(module, run.function.rpartition(".")[2])
        scratch = Path(tempfile.mkdtemp(prefix="journal-bench-direct-"))
        count = [0]

        def direct() -> None:
            count[0] += 1
            handle = RunHandle(scratch / str(count[0]), seed=run.seed, device="cpu", root=root)
            handle.seed_everything()
            handle.finish(fn(handle, **run.params))

        def executor() -> None:
            journal.store.clean_staging()
            ex = Executor(journal.store_for, journal.root, journal.logs, backend=LocalBackend(1),
                          reporter=reporter(1, quiet=True))
            (outcome,) = ex.run_all([run])
            if outcome.status.value != "ran":
                raise SystemExit(f"the run failed: {outcome.error}")

        def cli() -> None:
            c.cli(root, "run", "-q", run.name)

        print(f"journal: {root} (experiment {run.function} {run.params})")
        t = c.interleave({"direct": direct, "executor": executor, "cli": cli}, repeat,
                         label="overhead")
        d, e, k = c.med(t["direct"]), c.med(t["executor"]), c.med(t["cli"])
        print()
        for name in ("direct", "executor", "cli"):
            print(f"{name:9} {c.spread(t[name])}")
        print(f"executor overhead: {e - d:.3f}s per run  target <= {TARGET_S:.1f}s: "
              f"{'MET' if e - d <= TARGET_S else 'MISSED'}")
        print(f"cli overhead:      {k - d:.3f}s per `journal run NAME` "
              f"(includes the interpreter and the journal's imports)")

        # -- where a worker's time goes ------------------------------------------
        print("\nbreakdown (medians):")
        spawn = mp.get_context("spawn")

        def bare() -> None:
            p = spawn.Process(target=_noop)
            p.start()
            p.join()

        def imports(what: str):
            code = f"import {what}"
            return lambda: subprocess.run([sys.executable, "-c", code], check=True, cwd=root)

        parts = {
            "python -c pass": lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
            "spawn + join a no-op process": bare,
            "python -c 'import generator.run.execute'": imports("generator.run.execute"),
            "python -c 'import generator.run.execute, numpy'": imports("generator.run.execute, numpy"),
            "git.commit() (2 git processes)": lambda: git.commit(root),
        }
        times = c.interleave(parts, max(3, repeat // 2), warmup=1)
        for name, xs in times.items():
            print(f"  {name:45} {c.med(xs) * 1000:7.1f} ms")
        c.cleanup(scratch, False)
    finally:
        c.cleanup(root, args.keep)


if __name__ == "__main__":
    main()

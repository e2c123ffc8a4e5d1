"""Running the stale experiments through a backend, and sealing what they made.

The backend (``generator.run.backends``) decides where each job runs; this module
hands it the jobs, enforces timeouts, passes progress to the live display, and
moves a finished run's staging folder into the store only when the run reported
success. An exception, ``os._exit``, a segfault, an out-of-memory kill, a lost
cluster task or a timeout is a failed run, never a crashed build, and never
touches the last good result.
"""

from __future__ import annotations

import datetime as _dt
import platform
import shutil
import time
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from generator import git
from generator.numbers import fmt_duration
from generator.plan.model import Run
from generator.run.backends.base import Backend, Finished, Progress, Request, Started
from generator.run.live import Board
from generator.run.worker import Job, cap_log, tail
from generator.store import Result
from generator.store import checkpoints as saved


class Status(str, Enum):
    RAN = "ran"
    FAILED = "failed"
    STOPPED = "stopped"   # timed out or died with a checkpoint: the next build resumes it


@dataclass(frozen=True)
class Outcome:
    run: Run
    status: Status
    result: Result | None = None
    error: str = ""          # the last lines of the failure
    log: Path | None = None  # the full log of a failed run
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        """Did not make a result (a stopped run has a checkpoint to resume from)."""
        return self.status is not Status.RAN


class Interrupted(Exception):
    """Ctrl-C: workers were stopped, nothing half-written was kept."""


def request(run: Run, root: Path, staging: Path, checkpoints: Path | None = None) -> Request:
    """The job that runs ``run``, with what it asks of the machine; ``checkpoints``: the
    folder its checkpoint goes in (a notebook does not checkpoint)."""
    notebook = run.function if run.notebook else ""
    module, _, func = ("", "", "") if notebook else run.inputs["function"].rpartition(".")
    job = Job(id=run.key, name=run.name, root=str(root), module=module, func=func,
              params=run.params, seed=run.seed, device=run.device, quick=run.quick,
              staging=str(staging), notebook=notebook,
              checkpoints="" if notebook or checkpoints is None
              else str(saved.folder(checkpoints, run.key)))
    resources = run.resources
    if resources.cpus is None:  # `threads:` (default 1): the cores it counts against the budget
        resources = replace(resources, cpus=run.threads)
    return Request(job, resources,
                   {"packages": run.inputs.get("packages", {})})


@dataclass
class _Active:
    run: Run
    staging: Path
    submitted: float
    started: float | None = None
    step: int = 0            # the last step it reported


class Executor:
    """Runs a list of ``Run`` values through a backend and commits what succeeded."""

    def __init__(self, store_for, root: Path, logs: Path, *, backend: Backend, reporter,
                 checkpoints: Path | None = None, live: Path | None = None) -> None:
        self.store_for = store_for  # Run -> Store
        self.root = root
        self.logs = logs
        self.backend = backend
        self.reporter = reporter
        self.checkpoints = checkpoints  # None: runs do not checkpoint
        self.board = Board(live)  # live=None: nothing is written
        self.commit = git.commit(root)

    def run_all(self, runs: list[Run]) -> list[Outcome]:
        active: dict[str, _Active] = {}
        outcomes: list[Outcome] = []
        try:
            for run in runs:
                staging = self.store_for(run).staging(run)
                active[run.key] = _Active(run, staging, time.monotonic())
                self.backend.submit(request(run, self.root, staging, self.checkpoints))
            while active:
                for event in self.backend.poll(0.25):
                    a = active.get(event.job)
                    if a is None:
                        continue
                    if isinstance(event, Started):
                        a.started = time.monotonic()
                        self.reporter.start(a.run)
                        self.board.start(a.run)
                    elif isinstance(event, Progress):
                        a.step = event.step
                        self.reporter.progress(a.run, event.step, event.total)
                        self.board.step(a.run, event.step, event.total, event.points)
                    elif isinstance(event, Finished):
                        del active[event.job]
                        self.board.end(a.run)
                        outcomes.append(self._finish(a, event.outcome))
                now = time.monotonic()
                for key, a in list(active.items()):
                    if a.started is not None and now - a.started > a.run.timeout:
                        self.backend.cancel(key)
                        del active[key]
                        self.board.end(a.run)
                        limit = fmt_duration(a.run.timeout, compact=True)
                        outcomes.append(self._fail(a, f"timed out after {limit} (raise `timeout:` in "
                                                      "the front matter if it needs longer)",
                                                   timed_out=limit))
        except BaseException as e:  # Ctrl-C or an error here: no worker outlives the build
            self.backend.close()
            self.board.close()
            for a in active.values():
                self.store_for(a.run).discard(a.staging)
            if isinstance(e, KeyboardInterrupt):
                raise Interrupted() from None
            raise
        finally:
            self.backend.close()
        return outcomes

    def _finish(self, a: _Active, outcome) -> Outcome:
        if outcome.made is None:
            return self._fail(a, outcome.error, with_output=outcome.crashed)
        cap_log(a.staging / "log.txt")
        prov = dict(outcome.made.provenance)
        prov.update({
            "backend": self.backend.name,
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": self.commit,
            "quick": a.run.quick,
        })
        meta = {"function": a.run.function, "inputs": a.run.inputs, **outcome.made.meta(),
                "provenance": prov}
        try:
            result = self.store_for(a.run).commit(a.run, a.staging, meta)
        except OSError as e:
            return self._fail(a, f"could not save the result: {e}")
        if self.checkpoints is not None and not a.run.keep_checkpoint:
            saved.discard(self.checkpoints, a.run.key)
        done = Outcome(a.run, Status.RAN, result, seconds=prov["duration_s"])
        self.reporter.finish(done)
        return done

    def _fail(self, a: _Active, error: str, with_output: bool = True, timed_out: str = "") -> Outcome:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{a.run.name}-{a.run.short}.log"
        src = a.staging / "log.txt"
        try:
            cap_log(src)
            shutil.copyfile(src, log)
        except OSError:
            log.write_text("(no output)\n")
        last = tail(log, 4) if with_output else ""  # a crash's last words, if any
        executed = a.staging / "notebook.ipynb"  # a notebook's cells as far as they ran
        if executed.is_file():
            kept = log.with_suffix(".ipynb")
            shutil.copyfile(executed, kept)
            error += f"\n  the executed notebook: {_shown(kept, self.root)}"
        self.store_for(a.run).discard(a.staging)
        started = a.started if a.started is not None else a.submitted
        status = Status.FAILED
        ckpt = saved.summary(self.checkpoints, a.run.key) if self.checkpoints is not None else None
        if ckpt is not None:
            status = Status.STOPPED
            total = f" of {ckpt.total:,}" if ckpt.total else ""
            reached = f"{a.step:,}{total}" if a.step else "its start"
            why = f"timed out after {timed_out}" if timed_out else error.splitlines()[0]
            error = (f"stopped at step {reached} ({why}); the next `journal build` resumes it "
                     f"from its checkpoint at step {ckpt.step:,}{total} "
                     f"(`--rerun {a.run.name}` starts over)")
            if timed_out:
                error += "; `timeout:` limits each attempt"
        outcome = Outcome(a.run, status, error=error + (f"\n{last}" if last else ""), log=log,
                          seconds=time.monotonic() - started)
        self.reporter.finish(outcome)
        return outcome


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

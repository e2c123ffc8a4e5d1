"""Progress of a build: a live display on a terminal, plain log lines elsewhere (CI).

A reporter hears of each run as it starts, steps and finishes (the build's ``Executor``
tells it); what it says goes to the console (stderr).
"""

from __future__ import annotations

import sys
import time

from generator.console import console
from generator.numbers import fmt_duration


class PlainReporter:
    """One line per event; what CI logs show."""

    def __init__(self, total: int, out=None) -> None:
        self.total = total
        self.out = out or sys.stderr
        self.done = self.failed = 0
        self.t0 = time.monotonic()

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def begin(self) -> None:
        self._say(f"running {self.total} experiment{'s' * (self.total != 1)}")

    def start(self, run) -> None:
        self._say(f"  start  {run.name} ({run.function}, {run.post})")

    def progress(self, run, step: int, total: int | None) -> None:
        pass

    def finish(self, outcome) -> None:
        """``outcome``: a :class:`generator.run.execute.Outcome`."""
        if outcome.failed:
            self.failed += 1
            first = outcome.error.splitlines()[0] if outcome.error else "failed"
            word = "STOPPED" if outcome.status.value == "stopped" else "FAILED"
            self._say(f"  {word} {outcome.run.name} after {fmt_duration(outcome.seconds, compact=True)}: {first}")
        else:
            self.done += 1
            self._say(f"  done   {outcome.run.name} in {fmt_duration(outcome.seconds, compact=True)} "
                      f"[{self.done + self.failed}/{self.total}]")

    def close(self) -> None:
        pass


class RichReporter(PlainReporter):
    """One bar per running experiment, with counts, elapsed time and ETA."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bars = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=True)
        self.overall = self.bars.add_task("experiments", total=total)
        self.tasks: dict[str, int] = {}

    def _say(self, text: str) -> None:
        self.bars.console.print(text)

    def begin(self) -> None:
        self.bars.start()

    def start(self, run) -> None:
        self.tasks[run.key] = self.bars.add_task(f"  {run.name}", total=None)

    def progress(self, run, step: int, total: int | None) -> None:
        task = self.tasks.get(run.key)
        if task is not None:
            self.bars.update(task, completed=step, total=total)

    def finish(self, outcome) -> None:
        task = self.tasks.pop(outcome.run.key, None)
        if task is not None:
            self.bars.remove_task(task)
        self.bars.advance(self.overall)
        super().finish(outcome)

    def close(self) -> None:
        self.bars.stop()


def reporter(total: int, quiet: bool = False):
    if quiet:
        import io

        return PlainReporter(total, out=io.StringIO())
    if console.is_terminal:
        return RichReporter(total)
    return PlainReporter(total)

"""Progress of a build: a live display on a terminal, plain log lines elsewhere (CI)."""

from __future__ import annotations

import sys
import time

from rich.console import Console

console = Console(stderr=True, highlight=False, soft_wrap=True)   # progress, messages, errors
out = Console(highlight=False, soft_wrap=True)                   # a command's own output (status, diff)


def _elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s"


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
        from generator.execute import Status

        if outcome.status is Status.FAILED:
            self.failed += 1
            first = outcome.error.splitlines()[0] if outcome.error else "failed"
            self._say(f"  FAILED {outcome.run.name} after {_elapsed(outcome.seconds)}: {first}")
        else:
            self.done += 1
            self._say(f"  done   {outcome.run.name} in {_elapsed(outcome.seconds)} "
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

"""The local backend: each job in a worker process on this machine, ``jobs`` at once.

Cores are a budget: a job without ``resources: {cpus: N}`` gets an even share
(``cores // min(jobs, runs)`` torch/BLAS threads), a job with it gets N threads
and counts N cores while it runs. A job that asks for GPUs this machine does not
have is refused before anything runs.
"""

from __future__ import annotations

import math
from multiprocessing.connection import wait

from generator.plan.model import Resources
from generator.run.backends.base import Event, Finished, Progress, Request, Started
from generator.run.cores import usable_cores
from generator.run.worker import Child, Job


def threads_per_worker(jobs: int, runs: int, cores: int | None = None) -> int:
    cores = cores or usable_cores()
    return max(1, cores // max(1, min(jobs, runs)))


def local_gpus() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count()


class LocalBackend:
    name = "local"

    def __init__(self, jobs: int, cores: int | None = None, ctx=None) -> None:
        self.jobs = max(1, jobs)
        self.ctx = ctx  # a multiprocessing context; None: spawn
        self.cores = cores or usable_cores()
        self.queue: list[Request] = []
        self.active: dict[str, tuple[Child, int, float]] = {}  # id -> child, cores, gpus
        self.submitted = 0
        self._gpus: int | None = None

    def _gpu_count(self) -> int:
        if self._gpus is None:
            self._gpus = local_gpus()
        return self._gpus

    def check(self, asks: dict[str, Resources]) -> dict[str, tuple[str, str]]:
        wanted = {job: res.gpus for job, res in asks.items() if res.gpus}
        if not wanted:
            return {}
        have = self._gpu_count()
        return {job: ("gpus", f"asks for {gpus:g} GPU{'s' * (gpus != 1)}, this machine has "
                              f"{have or 'none'}; run it where there is one (`journal build "
                              "--backend ray --address ...`, see the page on clusters)")
                for job, gpus in wanted.items() if gpus > have}

    def submit(self, request: Request) -> None:
        self.queue.append(request)
        self.submitted += 1

    def _need(self, r: Request) -> tuple[int, float]:
        if r.resources.cpus is not None:
            cores = min(self.cores, max(1, math.ceil(r.resources.cpus)))
        else:
            cores = threads_per_worker(self.jobs, self.submitted, self.cores)
        return cores, r.resources.gpus

    def _next(self) -> int | None:
        """The first queued job that fits beside the running ones."""
        used = sum(c for _, c, _ in self.active.values())
        used_gpus = sum(g for _, _, g in self.active.values())
        for i, r in enumerate(self.queue):
            cores, gpus = self._need(r)
            fits = used + cores <= self.cores and (not gpus or used_gpus + gpus <= self._gpu_count())
            if fits or not self.active:  # one too big for the machine runs alone
                return i
        return None

    def _start_what_fits(self, events: list[Event]) -> None:
        while self.queue and len(self.active) < self.jobs:
            i = self._next()
            if i is None:
                return  # nothing fits until a running job finishes
            r = self.queue.pop(i)
            cores, gpus = self._need(r)
            job = Job(**{**r.job.__dict__, "threads": cores})
            self.active[job.id] = (Child(job, self.ctx), cores, gpus)
            events.append(Started(job.id))

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        self._start_what_fits(events)
        if not self.active:
            return events
        waitables = [w for child, _, _ in self.active.values() for w in child.waitables()]
        wait(waitables, timeout=0 if events else timeout)
        for job_id, (child, _, _) in list(self.active.items()):
            child.drain(lambda m, j=job_id: events.append(Progress(j, m.step, m.total, m.points)))
            if child.finished():
                del self.active[job_id]
                events.append(Finished(job_id, child.outcome()))
        return events

    def cancel(self, job_id: str) -> None:
        entry = self.active.pop(job_id, None)
        if entry is not None:
            entry[0].kill()
        self.queue = [r for r in self.queue if r.job.id != job_id]

    def close(self) -> None:
        self.queue.clear()
        for child, _, _ in self.active.values():
            child.kill()
        self.active.clear()

"""The seam between the build and the machines experiments run on.

The build hands a backend jobs with ``submit``, then calls ``poll`` until every
job has ``Finished``; it may ``cancel`` one (a timeout) or ``close`` the backend
(done, or Ctrl-C: everything still in flight is stopped). When a job finishes,
its staging folder on this machine holds what the run wrote (``log.txt``,
``metrics.json``, ``series.json``, figures, artifacts); the build, not the
backend, seals it into the results store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from generator.plan.model import Resources

if TYPE_CHECKING:   # annotations only: choosing a backend does not import the worker
    from generator.run.worker import Job, Outcome


@dataclass(frozen=True)
class Started:
    job: str                     # Job.id
    node: str = ""               # where it runs, when the backend knows


@dataclass(frozen=True)
class Progress:
    job: str
    step: int
    total: int | None
    points: dict[str, list[list[float]]] = field(default_factory=dict)  # new series points


@dataclass(frozen=True)
class Finished:
    job: str
    outcome: Outcome


Event = Started | Progress | Finished


@dataclass
class Request:
    """A job with what it asks of the machine it runs on."""

    job: Job
    resources: Resources = field(default_factory=Resources)
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific (key inputs...)


class Backend(Protocol):
    name: str

    def check(self, asks: dict[str, Resources]) -> dict[str, tuple[str, str]]:
        """Before anything runs: job id -> (resource key, why) for each job that cannot run here."""

    def submit(self, request: Request) -> None:
        """Queue a job; its staging folder (``job.staging``) exists and is empty."""

    def poll(self, timeout: float) -> list[Event]:
        """What happened since the last call; waits up to ``timeout`` seconds for something."""

    def cancel(self, job_id: str) -> None:
        """Stop one job at once (a timeout); no ``Finished`` follows for it."""

    def close(self) -> None:
        """Stop everything still queued or running and let go of the machines."""

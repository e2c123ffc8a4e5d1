"""What the planner hands the rest of the journal: one ``Run`` per experiment and seed,
and the ``Plan`` of every post's runs. Frozen values, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT = 30 * 60.0    # seconds; long enough for a week's largest CPU run


@dataclass(frozen=True)
class Resources:
    """What one experiment asks of the machine (front matter ``resources:``)."""

    cpus: float | None = None    # cores (local: torch/BLAS threads); None: the backend decides
    gpus: float = 0
    memory: int | None = None    # bytes

    def __bool__(self) -> bool:
        return self.cpus is not None or bool(self.gpus) or self.memory is not None


@dataclass(frozen=True)
class Run:
    """One experiment to run (or find in the store), as a post declared it."""

    post: str                # "posts/week-1.md"
    name: str                # the name the body uses
    function: str            # "makemore.mlp"
    module: str              # "experiments.makemore.neural"
    params: dict[str, Any] = field(hash=False)   # canonical: defaults + overrides
    seed: int = 0
    device: str = "auto"
    timeout: float = DEFAULT_TIMEOUT
    quick: bool = False
    key: str = ""
    inputs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    seeds: tuple[int, ...] = ()   # `seeds:` given: every seed of the experiment, this one among them
    publish: bool = False         # a notebook experiment whose executed notebook becomes a page
    # what the post itself says (run:, the params it sets, seed, device, data paths):
    # a pinned post's result stands as long as this does
    declared: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    unfollowed: tuple[str, ...] = field(default=(), compare=False)  # dynamic imports not followed
    legacy: Any = field(default=None, hash=False, compare=False, repr=False)  # seed -> format-1 key
    pinned: bool = field(default=False, compare=False)  # its post says `freeze: true`
    # what it asks of the machine (never part of the key: any backend makes the same result)
    resources: Resources = field(default_factory=Resources, hash=False, compare=False)
    threads: int = field(default=1, compare=False)  # torch/BLAS threads it runs with (not keyed)
    notebook: bool = False   # ``function`` is a notebook's path, not module.function
    keep_checkpoint: bool = field(default=False, compare=False)  # keep the last checkpoint once done

    @property
    def short(self) -> str:
        return self.key[:12]

    @property
    def label(self) -> str:
        """post:name; a seed after the first adds @seed=N (the first keeps the unseeded label)."""
        extra = f"@seed={self.seed}" if self.seeds and self.seed != self.seeds[0] else ""
        return f"{self.post}:{self.name}{extra}"


@dataclass(frozen=True)
class Plan:
    """Per post, its experiments by name; and the distinct runs (one per key)."""

    by_post: dict[str, dict[str, Run]]     # an experiment with seeds: the run of its first seed
    runs: tuple[Run, ...]
    seeded: dict[tuple[str, str], tuple[Run, ...]] = field(default_factory=dict)  # (post, name) -> runs

    def replicas(self, run: Run) -> tuple[Run, ...]:
        """The runs of every seed of ``run``'s experiment (only ``run`` when it has one seed)."""
        return self.seeded.get((run.post, run.name), (run,))

    def every_run(self) -> list[Run]:
        """Every post's every experiment and seed (a key may repeat across posts)."""
        return [r for runs in self.by_post.values() for run in runs.values() for r in self.replicas(run)]

    @classmethod
    def of(cls, by_post: dict[str, dict[str, Run]],
           seeded: dict[tuple[str, str], tuple[Run, ...]] | None = None) -> Plan:
        """The plan of these posts' runs: the distinct runs are one per key, in order."""
        seeded = seeded or {}
        distinct: dict[str, Run] = {}
        for run in cls(by_post, (), seeded).every_run():
            distinct.setdefault(run.key, run)
        return cls(by_post, tuple(distinct.values()), seeded)

    def substitute(self, swap) -> Plan:
        """The plan with every run (and seed) replaced by ``swap(run)``."""
        by_post = {post: {name: swap(run) for name, run in runs.items()}
                   for post, runs in self.by_post.items()}
        seeded = {k: tuple(swap(r) for r in runs) for k, runs in self.seeded.items()}
        return Plan.of(by_post, seeded)

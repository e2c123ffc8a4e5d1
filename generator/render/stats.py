"""Seed statistics: one metric over the results of every seed of an experiment.

The spread is the sample standard deviation (n - 1 in the denominator); the
standard error of a mean is sd / sqrt(n). ``{{ check }}`` calls a difference clear
when it exceeds two standard errors of the difference (docs/reference.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from generator.numbers import fmt_number

STATS = ("mean", "sd", "min", "max", "n")


@dataclass(frozen=True)
class Spread:
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / self.n

    @property
    def sd(self) -> float:
        """Sample standard deviation; 0 for a single value."""
        if self.n < 2:
            return 0.0
        m = self.mean
        return math.sqrt(math.fsum((v - m) ** 2 for v in self.values) / (self.n - 1))

    @property
    def se(self) -> float:
        return self.sd / math.sqrt(self.n)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def stat(self, name: str) -> float | int:
        return self.n if name == "n" else getattr(self, name)


def numeric(value: Any) -> float | None:
    """The value as a float if it is a number (including "nan"/"inf" as JSON stores them)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return None


def fmt_spread(s: Spread, spec: str | None = None) -> str:
    """``2.172 ± 0.011``: the mean and sd with one format; by default as many decimals as
    the sd's first two significant digits need."""
    if spec:
        return f"{format(s.mean, spec)} ± {format(s.sd, spec)}"
    sd = s.sd
    if not math.isfinite(sd) or not math.isfinite(s.mean):
        return f"{fmt_number(s.mean)} ± {fmt_number(sd)}"
    if sd == 0:
        return f"{fmt_number(s.mean)} ± 0"
    decimals = min(max(0, 1 - math.floor(math.log10(sd))), 10)
    comma = "," if abs(s.mean) >= 1000 else ""
    return f"{s.mean:{comma}.{decimals}f} ± {sd:{comma}.{decimals}f}"

"""Seed statistics: one metric over the results of every seed of an experiment, and the
tests ``{{ check }}`` uses to call a difference clear.

The spread is the sample standard deviation (n - 1 in the denominator); the standard
error of a mean is sd / sqrt(n). ``{{ check }}`` calls a difference clear when a one-sided
t-test rejects "no difference" at 95 % confidence: Welch's test over seeds (its degrees of
freedom from the Welch-Satterthwaite equation), and, where both results report their
losses example by example on the same split, a paired test over those examples
(docs/reference.md, "Checked claims").
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


CONFIDENCE = 0.95   # a difference is clear when a one-sided test rejects "no difference" at this level


@dataclass(frozen=True)
class Test:
    """A difference ``d`` with its standard error ``se`` on ``df`` degrees of freedom."""

    what: str          # "seeds" or "examples": what varies
    d: float
    se: float
    df: float

    @property
    def t(self) -> float:
        return self.d / self.se

    def p_below(self) -> float:
        """One-sided p-value of "the difference is below zero": small when it clearly is."""
        return t_cdf(self.t, self.df)

    def p_above(self) -> float:
        """One-sided p-value of "the difference is above zero"."""
        return t_cdf(-self.t, self.df)

    def margin(self) -> float:
        """Half the width of the two-sided ``CONFIDENCE`` interval of the difference."""
        return t_quantile(1 - (1 - CONFIDENCE) / 2, self.df) * self.se


def welch(a: Spread, b: Spread) -> Test | None:
    """Welch's test of mean(a) - mean(b) over seeds; None when neither side has a spread
    (a single result or a number is taken as exact)."""
    parts = [(s.sd ** 2 / s.n, s.n - 1) for s in (a, b) if s.n > 1]
    var = math.fsum(v for v, _ in parts)
    if var <= 0 or not math.isfinite(var):
        return None
    df = var ** 2 / math.fsum(v ** 2 / k for v, k in parts if v > 0)
    return Test("seeds", a.mean - b.mean, math.sqrt(var), df)


def paired(values_a: list[float], values_b: list[float], weights: list[float]) -> Test | None:
    """The paired test of a difference of two weighted means over the same examples:
    sum(a - b) / sum(w), with the standard error of a ratio estimate over examples (the
    analytic twin of a paired bootstrap that resamples examples). None for fewer than two."""
    n = len(weights)
    if n < 2 or len(values_a) != n or len(values_b) != n:
        return None
    total = math.fsum(weights)
    diffs = [x - y for x, y in zip(values_a, values_b)]
    d = math.fsum(diffs) / total
    spread = math.fsum((x - d * w) ** 2 for x, w in zip(diffs, weights))
    se = math.sqrt(n / (n - 1) * spread) / total
    return Test("examples", d, se, n - 1) if se > 0 else None


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t for which ``t_cdf(t, df) == p`` (bisection: a few dozen steps)."""
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return (lo + hi) / 2


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):   # the fraction converges fast on this side only
        return 1 - _betainc(b, a, 1 - x)
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 400):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return front * f / a


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

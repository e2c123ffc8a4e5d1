"""How numbers and durations read in a page: one home for both."""

from __future__ import annotations

import math
from typing import Any


def fmt_number(value: Any, spec: str | None = None) -> str:
    if isinstance(value, str):
        try:
            value = float(value) if value in ("nan", "inf", "-inf") else value
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):  # whatever the format
        return {"nan": "NaN", "inf": "∞", "-inf": "−∞"}[str(value)]
    if spec:
        return format(value, spec)
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and abs(value) >= 1000:
        return f"{value:,.0f}"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}" if abs(value) >= 1 else f"{value:.3g}"


def fmt_duration(seconds: float, *, compact: bool = False) -> str:
    """A duration for a reader: "850 ms", "12.3 s", "4 min 05 s", "2 h 10 min"; ``compact``
    for terminal lines and limits: "2s", "12.3s", "4m05s", "30m", "1h30m"."""
    if compact:
        if seconds < 60:
            return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
        m, s = divmod(int(round(seconds)), 60)
        if m < 60:
            return f"{m}m{s:02d}s" if s else f"{m}m"
        h, m = divmod(m, 60)
        return f"{h}h{m:02d}m" if m else f"{h}h"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"

"""The reference kinds, one module each, and the registry that finds them.

A new kind is one module here (a :class:`~generator.render.kinds.base.Kind`) and one
entry in ``_ALL``; scanning (``generator.render.refs``), the checks before running, the
renderer and the reference page's test all follow.
"""

from __future__ import annotations

from generator.render.kinds import (
                          chart,
                          check,
                          figure,
                          metric,
                          param,
                          provenance,
                          scatter,
                          seeds,
                          table,
                          text,
)
from generator.render.kinds.base import REGISTRY, Kind, words

_ALL: tuple[Kind, ...] = (metric.Metric(), param.Param(), figure.Figure(), table.Table(),
                          chart.Chart(), scatter.Scatter(), text.Text(), provenance.Provenance(),
                          check.Check(), seeds.Seeds())
REGISTRY.update((k.word, k) for k in _ALL)
KINDS: dict[str, Kind] = REGISTRY
WORDS: tuple[str, ...] = words()   # words that start a reference

__all__ = ["KINDS", "WORDS", "Kind"]

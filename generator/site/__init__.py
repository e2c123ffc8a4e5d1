"""The site seam: everything that depends on the static-site engine.

An :class:`~generator.site.base.Engine` says where generated posts go, writes the
Markdown dialect for figures with light and dark variants, boxes and the
missing-result marker, and builds the site. Rendering asks the engine for
markup and never writes an engine's syntax itself.

Engines: ``material`` (Material for MkDocs, the default) and ``zensical``
(Zensical, which reads the same ``mkdocs.yml``).
"""

from __future__ import annotations

from generator.site.base import Engine
from generator.site.material import Material
from generator.site.mkdocs import build_site, load
from generator.source.config import ENGINES as NAMES

DEFAULT = "material"


def engine(name: str | None = None, settings: dict | None = None) -> Engine:
    """The engine called ``name`` (default: Material for MkDocs); ``settings``: mkdocs.yml
    as plain data, when the caller has read it."""
    name = name or DEFAULT
    if name == "material":
        return Material(settings)
    if name == "zensical":
        from generator.site.zensical import Zensical

        return Zensical(settings)
    raise ValueError(f"unknown site engine {name!r} (known: {', '.join(NAMES)})")


__all__ = ["DEFAULT", "NAMES", "Engine", "Material", "build_site", "engine", "load"]

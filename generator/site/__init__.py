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

DEFAULT = "material"
NAMES = ("material", "zensical")


def engine(name: str | None = None) -> Engine:
    """The engine called ``name`` (default: Material for MkDocs)."""
    name = name or DEFAULT
    if name == "material":
        return Material()
    if name == "zensical":
        from generator.site.zensical import Zensical

        return Zensical()
    raise ValueError(f"unknown site engine {name!r} (known: {', '.join(NAMES)})")


def for_journal(root, override: str | None = None) -> Engine:
    """The engine a journal builds with: ``override`` (``--engine``), else ``[tool.journal] engine``."""
    from generator import config

    return engine(config.choice(root, "engine", NAMES, DEFAULT, override))


__all__ = ["DEFAULT", "NAMES", "Engine", "Material", "build_site", "engine", "for_journal", "load"]

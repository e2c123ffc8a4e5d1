"""What every reference kind is, and the page a kind renders onto.

A kind owns everything about one spelling of ``{{ ... }}``:

- ``word``: the first word that selects it (the bare metric form has none);
- ``parse``: the text between the braces -> the fields of a ``Ref``;
- ``needs``: the experiments and names it uses, checked before anything runs;
- ``validate``: any further check that needs the plan but no results;
- ``render``: the Markdown it becomes, given the results, through the :class:`Page` it
  is rendered onto (``generator.render.page.PageRenderer``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from generator.errors import suggest
from generator.render.syntax import DOTTED, Ref, RefSyntaxError

if TYPE_CHECKING:
    from pathlib import Path

    from generator.plan.model import Run
    from generator.store import Result

REGISTRY: dict[str, Kind] = {}   # word -> kind, filled by generator.render.kinds


def words() -> tuple[str, ...]:
    """The words that start a reference (every kind's but the bare metric's)."""
    return tuple(w for w in REGISTRY if w != "metric")


def no_metric(who: str, name: str, metrics, *, listed: bool = True) -> str:
    """The one way to say that a result lacks a metric: "X reported no metric 'y' (did you
    mean ...?) (it has: ...)"."""
    names = list(metrics)
    have = f" (it has: {', '.join(names) or 'none'})" if listed else ""
    return f"{who} reported no metric '{name}'{suggest(name, names)}{have}"


class Page(Protocol):
    """What a kind may ask of the page it renders onto."""

    files: dict[str, Path]      # images the page shows: its relative path -> the source file
    charts_dir: Path            # where charts drawn at build time are cached

    def result(self, ref: Ref, exp: str) -> tuple[Run, Result | None]: ...
    def seeds(self, ref: Ref, exp: str) -> tuple[Run, list[Result] | None]: ...
    def run(self, exp: str) -> Run: ...
    def seeded(self, exp: str) -> bool: ...
    def bad(self, ref: Ref, message: str) -> str: ...
    def missing(self, exp: str, block: bool) -> str: ...
    def claim_failed(self, ref: Ref, values: str) -> str: ...
    def claim_held(self, ref: Ref, claim: str, values: str, how: str, flag: str = "") -> str: ...
    def exp_label(self, exp: str) -> str: ...
    def name_label(self, name: str, exp: str | None = None) -> str: ...
    def figure_files(self, exp: str, run: Run, res: Result, name: str) -> str: ...
    def figure(self, base: str, alt: str, caption: str) -> str: ...
    def provenance(self) -> str: ...


@dataclass(frozen=True)
class Need:
    """A name a reference uses: ``what`` of experiment ``exp`` (a parameter, a metric, ...)."""

    exp: str
    name: str | None
    what: str   # "param", "metric", "series", "figure", "artifact" or "experiment"


class Kind(ABC):
    word: ClassVar[str]
    example: ClassVar[str]         # shown in error messages; the reference page must show it
    captioned: ClassVar[bool] = False

    @abstractmethod
    def parse(self, source: str, args: list[str], caption: str, line: int) -> dict[str, Any]:
        """The fields of the Ref (exps, names, fmt, caption, options); raise RefSyntaxError."""

    def needs(self, ref: Ref) -> list[Need]:
        return [Need(e, n, "metric") for e, n in zip(ref.exps, ref.names)]

    def validate(self, ref: Ref, runs: dict[str, Run]) -> list[str]:
        """Problems found with the plan alone; ``runs`` maps each needed experiment to its run."""
        return []

    @abstractmethod
    def render(self, ref: Ref, page: Page) -> str:
        """The Markdown this reference becomes, from the page's results."""


class OneName(Kind):
    """A kind that names one thing of one experiment: ``{{ word exp.name }}``."""

    what: ClassVar[str]            # what the name is: "param", "figure", "artifact"

    def parse(self, source, args, caption, line):
        m = DOTTED.match(args[0]) if len(args) == 1 else None
        if m is None:
            raise RefSyntaxError(line, f"'{{{{ {source} }}}}': expected {self.example}")
        return {"exps": (m.group(1),), "names": (m.group(2),), "caption": caption}

    def needs(self, ref):
        return [Need(ref.exps[0], ref.names[0], self.what)]


class Saved(OneName):
    """A kind that shows one thing the experiment saved (a figure, a text artifact)."""

    noun: ClassVar[str]            # in messages: "figure", "text artifact"

    @abstractmethod
    def saved(self, res) -> list[str]:
        """The names of the things of this kind that the result holds."""

    @abstractmethod
    def show(self, ref, page, exp: str, run, res, name: str) -> str:
        """The Markdown for the saved thing ``name`` of ``res``."""

    def render(self, ref, page):
        exp, name = ref.exps[0], ref.names[0]
        run, res = page.result(ref, exp)
        if res is None:
            return page.missing(exp, True)
        have = self.saved(res)
        if name not in have:
            return page.bad(ref, f"{run.function} saved no {self.noun} '{name}'{suggest(name, have)} "
                                 f"(it saved: {', '.join(have) or 'none'})")
        return self.show(ref, page, exp, run, res, name)

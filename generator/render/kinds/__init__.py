"""The reference kinds, one module each, and the registry that finds them.

A kind owns everything about one spelling of ``{{ ... }}``:

- ``word``: the first word that selects it (the bare metric form has none);
- ``parse``: the text between the braces -> the fields of a ``Ref``;
- ``needs``: the experiments and names it uses, checked before anything runs;
- ``validate``: any further check that needs the plan but no results;
- ``render``: the Markdown it becomes, given the results.

A new kind is one module here and one entry in ``_ALL``; ``refs.parse``, the
checks before running, the renderer and the reference page's test all follow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from generator.errors import suggest

if TYPE_CHECKING:
    from generator.plan import Run
    from generator.refs import Ref


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
    def render(self, ref: Ref, page) -> str:
        """The Markdown this reference becomes, from the page's results."""


class OneName(Kind):
    """A kind that names one thing of one experiment: ``{{ word exp.name }}``."""

    what: ClassVar[str]            # what the name is: "param", "figure", "artifact"

    def parse(self, source, args, caption, line):
        from generator.refs import DOTTED, RefSyntaxError

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


from generator.kinds import chart, check, figure, metric, param, provenance, scatter, seeds, table, text  # noqa: E402

_ALL: tuple[Kind, ...] = (metric.Metric(), param.Param(), figure.Figure(), table.Table(),
                          chart.Chart(), scatter.Scatter(), text.Text(), provenance.Provenance(),
                          check.Check(), seeds.Seeds())
KINDS: dict[str, Kind] = {k.word: k for k in _ALL}
WORDS: tuple[str, ...] = tuple(w for w in KINDS if w != "metric")  # words that start a reference

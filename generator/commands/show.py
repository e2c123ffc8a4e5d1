"""``journal show``: what each experiment's stored result holds, as another post names it."""

from __future__ import annotations

from pathlib import Path

from generator.console import out
from generator.context import Journal
from generator.errors import InputError
from generator.numbers import fmt_number
from generator.plan.freshness import State, state
from generator.render.stats import Spread, fmt_spread, numeric


def show(root: Path, names: tuple[str, ...]) -> None:
    """Print the metric, series, figure and text names each experiment's result holds
    (every experiment's, or those ``names`` names: ``name`` or ``slug/name``)."""
    journal = Journal.open(root)
    posts, the_plan = journal.read()
    slugs = {p.rel: p.slug for p in posts}
    shown = 0
    for rel, runs in the_plan.by_post.items():
        for name, run in runs.items():
            if names and name not in names and f"{slugs[rel]}/{name}" not in names:
                continue
            shown += 1
            qualified = f"{slugs[rel]}/{name}"   # what another post writes; its own post writes `name`
            replicas = the_plan.replicas(run)
            seeds = f"  {len(replicas)} seeds: {', '.join(str(r.seed) for r in replicas)}" if run.seeds else ""
            out.print(f"[bold]{qualified}[/]  {run.function}  [dim]{run.short}[/]{seeds}  "
                      f"[dim](in {rel} itself: {name}.…)[/]", highlight=False)
            found = []   # the stored result of each seed: fresh, or standing in a pinned post
            for r in replicas:
                found_state, _, result = state(journal.store, r)
                if found_state is State.CORRUPT:
                    journal.store.load(r)   # raises: a damaged result is reported (exit 1), as everywhere
                if found_state in (State.FRESH, State.FROZEN) and result is not None:
                    found.append(result)
            if len(found) < len(replicas):
                missing = len(replicas) - len(found)
                out.print(f"  no result yet{f' for {missing} of its seeds' if run.seeds else ''}: "
                          "`journal build` runs it", highlight=False)
                if not found:
                    continue
            result = found[0]
            for key, value in result.metrics.items():
                values = [res.metrics.get(key) for res in found]
                numbers = [numeric(v) for v in values]
                if len(found) > 1 and all(isinstance(n, float) for n in numbers):
                    text = f"{fmt_spread(Spread(tuple(numbers)))}  (mean ± sd over {len(found)} seeds)"
                else:
                    text = fmt_number(value)
                out.print(f"  metric    {qualified}.{key} = {text}", markup=False)
            for key, points in result.series.items():
                out.print(f"  series    {qualified}.{key} ({len(points)} points)", markup=False)
            for fig in result.figures:
                out.print(f"  figure    {qualified}.{fig}", markup=False)
            for art in result.artifacts:
                out.print(f"  text      {qualified}.{art}", markup=False)
    if names and not shown:
        raise InputError(f"no experiment named {', '.join(names)}")

"""The Progress page: one panel per tracked quantity (a headline metric), with every week's
headline results for it, the best so far marked, and a chart across the weeks.

A week's points for a quantity are its headline experiments' values of it: the quantities
``[tool.journal.headlines]`` declares are shown for every headline experiment that reports
them (a week that headlines its dev NLL still shows its test NLL on the test panel)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from generator import escape
from generator.plan.model import Plan
from generator.render.home import escape_md, headline_value
from generator.render.kinds.metric import seed_values
from generator.render.labels import exp_label, headline_refs, lookup, name_label
from generator.render.stats import Spread, numeric
from generator.render.syntax import Ref
from generator.site import Engine
from generator.source.posts import Post
from generator.store import Result


def direction(name: str, tracked: dict[str, dict[str, str]] | None = None) -> str:
    """Which way a metric improves: as ``[tool.journal.headlines]`` declares it, else from its
    name (losses and errors go down, accuracies up); "" when neither says."""
    better = (tracked or {}).get(name, {}).get("better")
    if better is not None:
        return "" if better == "neither" else better
    words = name.lower().replace("-", "_").split("_")
    if any(w in ("nll", "loss", "error", "err", "perplexity", "ppl", "mse", "bpc") for w in words):
        return "lower"
    if any(w in ("acc", "accuracy", "auc", "f1", "score") for w in words):
        return "higher"
    return ""


def _tracked_label(tracked: dict[str, dict[str, str]] | None, posts: list[Post | None], name: str,
                   exp: str | None) -> str:
    """A headline quantity's name in words: declared in ``[tool.journal.headlines]``, else as
    the posts' labels (or its own name) say."""
    label = (tracked or {}).get(name, {}).get("label")
    return label if label is not None else name_label(posts, name, exp)


@dataclass
class _Panel:
    """One tracked quantity on the Progress page: which way is better, its short name (the
    chart's y axis) and a point per headline result: (week index, post, experiment, value,
    text, sd over seeds or None)."""
    direction: str
    short: str
    points: list[tuple[int, Post, str, float, str, float | None]] = field(default_factory=list)


def _week_refs(post: Post, tracked: dict[str, dict[str, str]] | None) -> list[Ref]:
    """A week's headline metrics, then each declared quantity of each headline experiment
    that the headline does not name (in the headline's order, each experiment once)."""
    refs = headline_refs(post)
    named = {(r.exps[0], r.names[0]) for r in refs}
    extra = []
    for exp in dict.fromkeys(r.exps[0] for r in refs):
        for name in tracked or {}:
            if (exp, name) not in named:
                extra.append(replace(refs[0], source=f"{exp}.{name}", exps=(exp,), names=(name,),
                                     fmt=(next((r.fmt[0] for r in refs if r.exps[0] == exp), None),)))
    return refs + extra


def best_marks(points: list[tuple[int, float]], better) -> list[bool]:
    """For (week, value) points in week order: which to mark "best so far". A week's best
    point is marked when it is at least as good as every point of that week and the weeks
    before; a point that a better one of its own week beats is never marked."""
    marks, best = [], None
    weeks = sorted({w for w, _ in points})
    week_best = {w: better(v for x, v in points if x == w) for w in weeks}
    seen = set()
    for week, value in points:
        if week not in seen:
            seen.add(week)
            best = week_best[week] if best is None else better(best, week_best[week])
        marks.append(value == week_best[week] and value == best)
    return marks



def progress(posts: list[Post], plan: Plan, results: dict[str, Result],
             charts_dir: Path, site: Engine,
             tracked: dict[str, dict[str, str]] | None = None) -> tuple[str, dict[str, Path]]:
    """The Progress page: one panel per tracked quantity (a headline metric), with every week's
    headline results for it in words, the best so far marked, and a chart across the weeks.
    ``tracked``: the quantities' labels and directions, as [tool.journal.headlines] declares them."""
    slugs = {p.slug: p for p in posts}
    by_rel = {p.rel: p for p in posts}
    weeks = sorted((p for p in posts if not p.meta.get("draft")), key=lambda p: str(p.meta.get("date")))
    week_names = [str(p.meta.get("title") or p.slug).split(":")[0] for p in weeks]
    panels: dict[str, _Panel] = {}   # the quantity's label -> its panel
    for i, post in enumerate(weeks):
        for ref in _week_refs(post, tracked):
            run, err = lookup(post, plan, slugs, ref.exps[0])
            found = headline_value(plan, results, run, ref)
            if found is None or not isinstance(numeric(found[0]), float):
                continue
            name, exp, labelled = ref.names[0], ref.exps[0], [post, by_rel.get(run.post)]
            panel = panels.setdefault(_tracked_label(tracked, labelled, name, exp),
                                      _Panel(direction(name, tracked), name_label(labelled, name, exp)))
            values = [numeric(v) for v in seed_values(plan, results, run, name) or ()]
            sd = Spread(tuple(values)).sd if len(values) > 1 and None not in values else None
            panel.points.append((i, post, exp_label(by_rel, run, exp), float(numeric(found[0])), found[1], sd))
    if not panels:
        return "No headline metrics yet: list some under `headline:` in a post's front matter.\n", {}
    from generator.render.charts import cached, chart_files, draw_progress

    out, files = [], {}
    for metric, panel in panels.items():
        better = {"lower": min, "higher": max}.get(panel.direction)
        hint = f" ({panel.direction} is better)" if panel.direction else ""
        title = metric + hint
        out += [f"## {escape.inline(title)}", "", "| week | result | value |", "|---|---|---:|"]
        marks = best_marks([(p[0], p[3]) for p in panel.points], better) if better else \
            [False] * len(panel.points)
        for (i, post, exp, _, text, _), is_best in zip(panel.points, marks):
            mark = " ★ best so far" if is_best else ""
            week = week_names[i].replace(" ", "\u00a0")  # "Week 12" stays on one line on a phone
            out.append(f"| [{escape_md(week)}]({site.post_link(post.slug)}) | {escape.inline(exp)} "
                       f"| **{escape.inline(text)}**{mark} |")
        spec = {"weeks": week_names, "points": [(i, exp, value, sd) for i, _, exp, value, _, sd in panel.points],
                "ylabel": panel.short + hint, "direction": panel.direction}   # the heading has the long label
        name, paths = cached(charts_dir, spec, lambda name, spec=spec: draw_progress(spec, charts_dir, name),
                             prefix="progress-")
        variants = chart_files(paths)
        files.update({f"assets/{name}.{variant}.png": path for variant, path in variants.items()})
        out += ["", site.figure(site.asset_link(f"assets/{name}"), f"{title}, week by week", "",
                                narrow="narrow.light" in variants), ""]
    return "\n".join(out) + "\n", files

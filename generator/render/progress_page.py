"""The Progress page: one panel per tracked quantity (a headline metric), with every week's
headline results for it, the best so far marked, and a chart across the weeks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import escape
from generator.plan.model import Plan
from generator.render.home import escape_md, headline_value
from generator.render.labels import exp_label, headline_refs, lookup, name_label
from generator.render.stats import numeric
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
    chart's y axis) and a point per headline result: (week index, post, experiment, value, text)."""
    direction: str
    short: str
    points: list[tuple[int, Post, str, float, str]] = field(default_factory=list)



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
        for ref in headline_refs(post):
            run, err = lookup(post, plan, slugs, ref.exps[0])
            found = headline_value(plan, results, run, ref)
            if found is None or not isinstance(numeric(found[0]), float):
                continue
            name, exp, labelled = ref.names[0], ref.exps[0], [post, by_rel.get(run.post)]
            panel = panels.setdefault(_tracked_label(tracked, labelled, name, exp),
                                      _Panel(direction(name, tracked), name_label(labelled, name, exp)))
            panel.points.append((i, post, exp_label(by_rel, run, exp), float(numeric(found[0])), found[1]))
    if not panels:
        return "No headline metrics yet: list some under `headline:` in a post's front matter.\n", {}
    from generator.render.charts import cached, draw_progress

    out, files = [], {}
    for metric, panel in panels.items():
        better = {"lower": min, "higher": max}.get(panel.direction)
        hint = f" ({panel.direction} is better)" if panel.direction else ""
        title = metric + hint
        out += [f"## {escape.inline(title)}", "", "| week | result | value |", "|---|---|---:|"]
        best = None
        for i, post, exp, value, text in panel.points:
            is_best = better is not None and (best is None or better(best, value) == value)
            best = value if is_best else best
            mark = " ★ best so far" if is_best else ""
            week = week_names[i].replace(" ", "\u00a0")  # "Week 12" stays on one line on a phone
            out.append(f"| [{escape_md(week)}]({site.post_link(post.slug)}) | {escape.inline(exp)} "
                       f"| **{escape.inline(text)}**{mark} |")
        spec = {"weeks": week_names, "points": [(i, exp, value) for i, _, exp, value, _ in panel.points],
                "ylabel": panel.short + hint, "direction": panel.direction}   # the heading has the long label
        name, (light, dark) = cached(charts_dir, spec, lambda name, spec=spec: draw_progress(spec, charts_dir, name),
                                     prefix="progress-")
        files.update({f"assets/{name}.light.png": light, f"assets/{name}.dark.png": dark})
        out += ["", site.figure(site.asset_link(f"assets/{name}"), f"{title}, week by week", ""), ""]
    return "\n".join(out) + "\n", files

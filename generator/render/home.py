"""The home page's list of weeks: newest first, each with its headline results."""

from __future__ import annotations

import html

from generator import __version__, escape
from generator.numbers import fmt_number
from generator.plan.model import Plan, Run
from generator.render.kinds.metric import seed_values
from generator.render.labels import exp_label, headline_refs, lookup, name_label
from generator.render.stats import Spread, fmt_spread, numeric
from generator.render.syntax import Ref
from generator.site import Engine
from generator.source.posts import Post
from generator.store import Result


def weeks(posts: list[Post], plan: Plan, results: dict[str, Result], site: Engine) -> str:
    """The home page's list of weeks, newest first, with each post's headline results."""
    slugs = {p.slug: p for p in posts}
    by_rel = {p.rel: p for p in posts}
    items = []
    for post in sorted(posts, key=lambda p: str(p.meta.get("date")), reverse=True):
        if post.meta.get("draft"):
            continue
        title = str(post.meta.get("title") or _first_heading(post.body) or post.slug)
        line = f"- [{escape_md(title)}]({site.post_link(post.slug)})"
        grouped: dict[str, list[str]] = {}   # an experiment's headline metrics together
        for ref in headline_refs(post):
            run, err = lookup(post, plan, slugs, ref.exps[0])
            value = headline_value(plan, results, run, ref)
            if value is None:
                continue
            metric = name_label([post, by_rel.get(run.post)], ref.names[0], ref.exps[0])
            grouped.setdefault(exp_label(by_rel, run, ref.exps[0]), []).append(
                f"{escape.inline(metric)} **{escape.inline(value[1])}**")
        values = [f"{escape.inline(exp)}: {', '.join(metrics)}" for exp, metrics in grouped.items()]
        if post.meta.get("description"):
            line += f"  \n  {escape_md(str(post.meta['description']))}"
        if values:
            line += "  \n  " + " · ".join(values)
        items.append(line)
    return "\n".join(items or ["No posts yet: `journal new \"Week 1: ...\"` starts one."]) \
        + f"\n\n{built_by()}\n"


def built_by() -> str:
    """The record of the tool version that built the site, in the home page's HTML."""
    return f'<!-- built by journal {__version__} -->'


def headline_value(plan: Plan, results: dict[str, Result], run: Run | None,
              ref: Ref) -> tuple[float | str, str] | None:
    """A headline metric's value (the mean over seeds) and its text (mean ± sd with seeds)."""
    values = seed_values(plan, results, run, ref.names[0]) if run else None
    if not values:
        return None
    numbers = [numeric(v) for v in values]
    try:
        if len(values) == 1 or None in numbers:
            return values[0], fmt_number(values[0], ref.fmt[0])
        spread = Spread(tuple(numbers))
        return spread.mean, fmt_spread(spread, ref.fmt[0])
    except ValueError:
        return None


def _first_heading(body: str) -> str | None:
    for line in body.split("\n"):
        if line.startswith("# "):
            return line[2:].strip()
    return None


def escape_md(text: str) -> str:
    return html.escape(text).replace("[", "\\[").replace("]", "\\]")

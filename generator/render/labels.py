"""How a page names things, and finds the run a reference names: one home for both.

``lookup`` resolves an experiment reference (``mlp``, ``week-1/mlp``) against the plan;
``exp_label`` and ``name_label`` are how a reader sees an experiment and a metric or
series (its ``label:`` or the post's ``labels:``, else the name in words); ``headline_refs``
reads a post's ``headline:`` list.
"""

from __future__ import annotations

from generator.errors import Problem, suggest
from generator.plan.model import Plan, Run
from generator.render.refs import parse
from generator.render.syntax import Ref, RefSyntaxError
from generator.source.posts import Post

# how a metric's or series' name reads when the post gives it no label: dev_nll -> dev NLL
_WORDS = {"nll": "NLL", "mse": "MSE", "lr": "learning rate", "acc": "accuracy", "sat": "saturated"}


def lookup(post: Post, plan: Plan, slugs: dict[str, Post], exp: str) -> tuple[Run | None, str | None]:
    """Find the run an experiment reference names; (None, message) if there is none."""
    if "/" in exp:
        slug, _, name = exp.partition("/")
        other = slugs.get(slug)
        if other is None:
            return None, f"no post has the slug '{slug}'{suggest(slug, slugs)}"
        runs = plan.by_post.get(other.rel, {})
        where = other.rel
    else:
        name = exp
        runs = plan.by_post.get(post.rel, {})
        where = "this post's front matter"
    if name not in runs:
        return None, f"no experiment '{name}' in {where}{suggest(name, runs)}"
    return runs[name], None


def headline_refs(post: Post, problems: list[Problem] | None = None) -> list[Ref]:
    """The metrics a post names under `headline:` (shown on the home page)."""
    items = post.meta.get("headline") or []
    if isinstance(items, str):
        items = [items]
    refs = []
    for i, item in enumerate(items if isinstance(items, list) else [None]):
        line = post.line("headline", i) or post.line("headline") or 1
        try:
            ref = parse(str(item), line) if isinstance(item, str) else None
        except RefSyntaxError:
            ref = None
        if ref is None or ref.kind != "metric":
            if problems is not None:
                problems.append(Problem(post.rel, line, "headline",
                                        f"expected a list of metrics such as [mlp.dev_nll, fourgram.dev_nll:.3f], got {item!r}"))
            continue
        refs.append(ref)
    return refs


def exp_label(posts_by_rel: dict[str, Post], run: Run | None, exp: str) -> str:
    """An experiment as a reader should see it: its ``label:``, else its name."""
    post = posts_by_rel.get(run.post) if run else None
    spec = (post.experiments.get(run.name) if post else None) or {}
    label = spec.get("label") if isinstance(spec, dict) else None
    return str(label) if isinstance(label, str) and label.strip() else exp.split("/")[-1]


def name_label(posts: list[Post | None], name: str, exp: str | None = None) -> str:
    """A metric or series as a reader should see it: the ``labels:`` of the first of ``posts``
    that names ``exp.name`` or ``name``; else the name with spaces (dev_nll: dev NLL)."""
    short = exp.split("/")[-1] if exp else None
    keys = ((f"{exp}.{name}", f"{short}.{name}") if exp else ()) + (name,)
    for post in posts:
        labels = (post.meta.get("labels") if post else None) or {}
        if isinstance(labels, dict):
            for key in keys:
                if isinstance(labels.get(key), str):
                    return labels[key]
    return " ".join(_WORDS.get(w, w) for w in name.replace("_", " ").split())

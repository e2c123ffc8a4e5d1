"""The checks that need no results: every reference of every post (its syntax, the
experiments and names it uses), headlines, and the schemes of links in prose. Run before
anything else; every problem of every post is raised at once."""

from __future__ import annotations

from generator import escape
from generator.errors import InputError, Problem
from generator.plan.model import Plan
from generator.render.kinds import KINDS
from generator.render.labels import headline_refs, lookup
from generator.render.refs import scan
from generator.render.syntax import Ref
from generator.source.posts import Post

Scanned = dict[str, list[list[Ref] | None]]   # post -> per body line, its references (None: code)


def check(posts: list[Post], plan: Plan) -> Scanned:
    """Scan every body; raise once with all problems that need no results to find."""
    slugs = {p.slug: p for p in posts}
    problems: list[Problem] = []
    scanned = {}
    for post in posts:
        lines, errors = scan(post.body, post.body_line)
        scanned[post.rel] = lines
        problems += [Problem(post.rel, e.line, None, str(e)) for e in errors]
        for i, (text, refs) in enumerate(zip(post.body.split("\n"), lines)):
            scheme = escape.unsafe_link(text) if refs is not None else None  # None: code
            if scheme:
                problems.append(Problem(post.rel, post.body_line + i, None,
                                        f"a link to a '{scheme}:' URL: only {', '.join(escape.SAFE_SCHEMES)} "
                                        "and relative links may appear on a page"))
        for refs in lines:
            for ref in refs or ():
                problems += check_ref(post, plan, slugs, ref)
        for i, ref in enumerate(headline_refs(post, problems)):
            run, err = lookup(post, plan, slugs, ref.exps[0])
            if err:
                problems.append(Problem(post.rel, post.line("headline", i), "headline", err))
    if problems:
        raise InputError(problems)
    return scanned


def check_ref(post: Post, plan: Plan, slugs: dict[str, Post], ref: Ref) -> list[Problem]:
    """What is wrong with one reference, knowing the plan but no results."""
    kind, runs, messages = KINDS[ref.kind], {}, []
    for inner in ref.options.get("inner", ()):
        messages += [p.message for p in check_ref(post, plan, slugs, inner)]
    for need in kind.needs(ref):
        run, err = lookup(post, plan, slugs, need.exp)
        if err:
            messages.append(err)
        else:
            runs[need.exp] = run
    if not messages:
        messages = kind.validate(ref, runs)
    return [Problem(post.rel, ref.line, None, f"{{{{ {ref.source} }}}}: {m}") for m in messages]

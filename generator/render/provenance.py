"""The provenance box at the end of every post: where its numbers come from.

Per experiment, the settings the post chose, seed, time taken, device and date, and the
commit that added the result to the repository (linked to the code there when mkdocs.yml
has a ``repo_url``): the result's key is the hash of the code that ran, so that commit
holds exactly that code. The full record (every parameter, key, torch) is one click on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from generator import escape, git
from generator.numbers import fmt_duration
from generator.plan.model import Plan
from generator.site import Engine
from generator.source.posts import Post
from generator.store import Result


class Commits:
    """For each result, the last commit that added its result.json: one ``git log`` per
    results store and build, asked for only when a page shows provenance."""

    def __init__(self) -> None:
        self._added: dict[Path, dict[str, str]] = {}

    def of(self, res: Result) -> str | None:
        store = res.path.parent.parent
        if store not in self._added:
            self._added[store] = git.added_commits(store, "/result.json")
        return self._added[store].get(f"{res.path.parent.name}/{res.path.name}/result.json")


class Shown(Protocol):
    """What the box reads of the page it ends (``generator.render.page.PageRenderer``)."""

    post: Post
    plan: Plan
    results: dict[str, Result]
    site: Engine
    build: Any     # the build's Rendering: its journal, commits and the keys it ran

    def exp_label(self, exp: str) -> str: ...


def code_link(res: Result, commits: Commits, repo: str | None) -> str | None:
    """The commit that added this result to the repository (None before it is committed),
    linked to the repository at that commit when there is one."""
    commit = commits.of(res)
    if not commit:
        return None
    if repo:
        return f"[{commit[:10]}]({repo}/tree/{commit})"
    return f"`{commit[:10]}`"


def box(page: Shown) -> str:
    """The post's provenance box (collapsed), with the full record inside it."""
    runs = page.plan.by_post.get(page.post.rel, {})
    if not runs:
        return ""
    repo = page.build.journal.repo_url()
    commits = page.build.commits
    rows = ["| experiment | settings | seed | took | on | code |", "|---|---|---:|---:|---|---|"]
    for name, first in runs.items():
        replicas = page.plan.replicas(first)
        results = [page.results.get(r.key) for r in replicas]
        chosen = (page.post.experiments.get(name) or {}).get("params") or {}
        settings = escape.inline(", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}"
                                           for k, v in chosen.items())) or "defaults"
        seeds = ", ".join(str(r.seed) for r in replicas)
        if any(res is None for res in results):
            rows.append(f"| {escape.inline(page.exp_label(name))} | {settings} | {seeds} | ⚠ no result | | |")
            continue
        p = results[0].provenance
        took = fmt_duration(sum(float(res.provenance.get("duration_s", 0)) for res in results))
        on = (f"{escape.inline(p.get('device', ''))}, "   # the date on one line, hyphens and all
              f'<span class="journal-nowrap">{escape.inline(str(p.get("date", ""))[:10])}</span>')
        rows.append(f"| {escape.inline(page.exp_label(name))} | {settings} | {seeds} | {took} | {on} "
                    f"| {code_link(results[0], commits, repo) or 'not committed yet'} |")
    body = "\n".join(rows) + "\n\n" + page.site.details(
        "note", "Full record: every parameter, the result's key (a hash of the code that ran), torch, "
                "the commit that holds each result", _detail(page, commits, repo))
    return page.site.details("info", "Provenance: where these numbers come from", body)


def _detail(page: Shown, commits: Commits, repo: str | None) -> str:
    """One entry per run (per seed): function, key, every parameter, date, duration, device,
    torch and the commit that holds the result. A list, not a ten-column table: it reads
    on a phone."""
    runs = page.plan.by_post.get(page.post.rel, {})
    entries = []
    every = [(name, r) for name, first in runs.items() for r in page.plan.replicas(first)]
    for name, run in every:
        if run.seeds:  # one entry per seed: "mlp · seed 1338 (2 of 3)"
            name = f"{name} · seed {run.seed} ({run.seeds.index(run.seed) + 1} of {len(run.seeds)})"
        res = page.results.get(run.key)
        params = escape.inline(", ".join(f"{k}={json.dumps(v)}" for k, v in run.params.items())) or "none"
        head = f"- **{escape.inline(name)}**: `{run.function}`, key `{run.short}`"
        if res is None:
            entries.append(f"{head}, ⚠ no result  \n    params: {params}")
            continue
        p = res.provenance
        source = "run by this build" if run.key in page.build.ran else "from the cache"
        link = code_link(res, commits, repo)
        held = f"result in commit {link}" if link else "result not committed yet"
        entries.append(
            f"{head}  \n    params: {params}  \n"
            f"    run {escape.inline(str(p.get('date', ''))[:10])} on {escape.inline(p.get('device', ''))}, "
            f"took {fmt_duration(float(p.get('duration_s', 0)))}, torch {escape.inline(p.get('torch') or '—')}; "
            f"{held}, {source}")
    return "\n".join(entries)

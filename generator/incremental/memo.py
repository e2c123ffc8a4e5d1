"""What one build planned and found in the store, kept in memory for the next build in the
same process (``journal serve`` builds after every edit).

Planning a post's experiments (finding each function, following its imports, hashing the
code and data) and checking a result in the store (reading result.json, hashing its files)
depend on the post's front matter and on files outside posts/. While none of those files
changed -- their signatures, taken as :mod:`generator.incremental.manifest` takes them, are as they were
when the last build started -- a post whose front matter is the same gets the runs planned
for it last time, and a run whose result was fresh (or frozen) gets that answer again. A
prose edit then re-plans only its own post. Any other change forgets everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from generator.hashing import canonical
from generator.incremental import manifest

if TYPE_CHECKING:
    from generator.plan.model import Plan, Run
    from generator.source.posts import Post
    from generator.store import Store

_MEMOS: dict[Path, Memo] = {}


def memo(root: Path) -> Memo:
    """The memory of builds of the journal at ``root`` in this process."""
    return _MEMOS.setdefault(root, Memo(root))


class Memo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.stamp: dict | None = None     # signatures of every input but the posts
        self.extra: list[str] = []         # files read outside the walked folders (data, reads)
        self.plans: dict[tuple, tuple[dict[str, Run], dict]] = {}
        self.states: dict[tuple, tuple] = {}
        self.hits = 0                      # posts planned and results checked from memory (tests)
        self._used: set[tuple] = set()     # the keys this build asked for

    def begin(self, seen: dict | None, started_ns: int) -> None:
        """At the start of a build that found ``seen`` (:func:`manifest.sources`, None if
        uncertain): forget everything unless the inputs but the posts are as they were when
        the last build started."""
        now = None
        if seen is not None:
            posts = str(self.root / "posts") + "/"
            now = {k: v for k, v in seen.items() if not k.startswith(posts)}
            try:
                now.update(manifest.extras(self.extra))
                manifest.mark_racy(now, started_ns)
            except manifest.Uncertain:
                now = None
        if now is None or now != self.stamp:
            self.plans.clear()
            self.states.clear()
        self.stamp = now
        self._used.clear()

    def finish(self, extra: list[str]) -> None:
        """After a build that rendered the site: keep what it used (and nothing older)."""
        self.extra = extra
        self.plans = {k: v for k, v in self.plans.items() if k in self._used}
        self.states = {k: v for k, v in self.states.items() if k in self._used}

    def plan(self, posts: list[Post], quick: bool) -> Plan:
        """``plan.plan(posts, root, quick=quick)``, re-planning only posts whose front matter
        changed."""
        from generator.plan.model import Plan
        from generator.plan.planner import plan

        keys = {p.rel: _post_key(p, quick) for p in posts}
        todo = [p for p in posts if keys[p.rel] is None or keys[p.rel] not in self.plans]
        fresh = plan(todo, self.root, quick=quick) if todo else None
        self.hits += len(posts) - len(todo)
        by_post: dict[str, dict[str, Run]] = {}
        seeded: dict[tuple[str, str], tuple[Run, ...]] = {}
        for p in posts:
            key = keys[p.rel]
            self._used.add(key)
            if key is not None and key in self.plans:
                runs, seeds = self.plans[key]
            else:
                runs = fresh.by_post[p.rel]
                seeds = {k: v for k, v in fresh.seeded.items() if k[0] == p.rel}
                if key is not None:
                    self.plans[key] = (runs, seeds)
            by_post[p.rel] = runs
            seeded.update(seeds)
        return Plan.of(by_post, seeded)

    def state(self, store: Store, run: Run, check_files: bool = False) -> tuple:
        """``freshness.state(store, run, check_files=...)``; a fresh or frozen answer is remembered."""
        from generator.plan.freshness import State, state

        try:
            key = (str(store.root), check_files, run.key, run.label, run.function, run.pinned,
                   canonical(run.declared))
        except TypeError:
            return state(store, run, check_files=check_files)
        self._used.add(key)
        if key in self.states:
            self.hits += 1
            return self.states[key]
        answer = state(store, run, check_files=check_files)
        if answer[0] in (State.FRESH, State.FROZEN):
            self.states[key] = answer
        return answer


def _post_key(post: Post, quick: bool) -> tuple | None:
    """What a post's planned runs depend on, besides files outside posts/."""
    try:
        spec = canonical(post.experiments)
    except TypeError:   # names that are not strings: planning reports them
        return None
    return post.rel, spec, post.meta.get("freeze") is True, quick

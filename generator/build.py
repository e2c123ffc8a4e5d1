"""The pipeline: read_posts -> plan -> execute -> render -> the site engine's build.

Everything is gathered and validated before anything runs; everything runs
before the site is written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape as escape_markup

from generator import backends, config, manifest, warm
from generator.errors import (
    ClaimFailed,
    CorruptStore,
    InputError,
    JournalError,
    Problem,
    RunFailed,
    StaleResults,
)
from generator.lock import LOCK_FILE
from generator.posts import read_posts, select_posts
from generator.progress import console
from generator.site import Engine, for_journal
from generator.site import engine as site_engine
from generator.store import State, Store

if TYPE_CHECKING:
    from generator.execute import Outcome
    from generator.plan import Plan, Run
    from generator.posts import Post

GENERATED_DIR = Path("docs") / site_engine().posts_dir  # the default engine's


@dataclass(frozen=True)
class Options:
    quick: bool = False
    frozen: bool = False
    rerun: tuple[str, ...] = ()
    rerun_all: bool = False
    jobs: int = 0                # 0: one per core
    keep_going: bool = False
    strict_prose: bool = False   # a hand-typed number that a result holds is an error
    wait: bool = True
    site: bool = True            # False: `journal run` (no rendering, no site)
    quiet: bool = False
    site_dir: Path | None = None
    engine: str | None = None    # the site engine (default: material)
    preview: str | None = None   # journal serve: "quick" or "full" preview (see Engine.preview)
    backend: str | None = None   # where experiments run (default: [tool.journal] backend, else local)
    address: str | None = None   # the Ray cluster (default: [tool.journal] address)
    posts: tuple[str, ...] = ()  # run only these posts' stale experiments (path, file name or slug)


@dataclass
class Summary:
    ran: int = 0
    cached: int = 0
    failed: list[Outcome] = field(default_factory=list)
    site: Path | None = None
    pages: int = 0
    fast: bool = False   # nothing changed since the last build: posts were not planned or rendered


class Journal:
    """A journal on disk: its folders and stores."""

    def __init__(self, root: Path, engine: str | None = None) -> None:
        self.root = root.resolve()
        self.site: Engine = for_journal(self.root, engine)
        self.store = Store(self.root / "results", self.root)
        self.quick_store = Store(self.root / ".journal" / "quick", self.root)
        self.logs = self.root / ".journal" / "logs"
        self.charts = self.root / ".journal" / "charts"
        self.generated = self.site.generated(self.root)

    def store_for(self, run: Run) -> Store:
        return self.quick_store if run.quick else self.store

    def read(self, quick: bool = False) -> tuple[list[Post], Plan]:
        from generator.plan import plan

        posts = read_posts(self.root)
        return posts, plan(posts, self.root, quick=quick)


def _selected(run: Run, names: tuple[str, ...], slugs: dict[str, str]) -> bool:
    qualified = f"{slugs.get(run.post, '')}/{run.name}"
    return run.name in names or qualified in names or run.function in names


def _check_names(names: tuple[str, ...], the_plan: Plan, slugs: dict[str, str], option: str) -> None:
    """Each name must name an experiment: ``name`` (used by one post only), ``slug/name`` or a
    function (``makemore.mlp``: every experiment that runs it)."""
    firsts = [r for runs in the_plan.by_post.values() for r in runs.values()]
    problems = []
    for n in names:
        posts = sorted({slugs[r.post] for r in firsts if r.name == n})
        if len(posts) > 1:
            problems.append(Problem("command line", None, option,
                                    f"'{n}' is an experiment of {len(posts)} posts; name one: "
                                    + ", ".join(f"{p}/{n}" for p in posts)))
        elif not any(_selected(r, (n,), slugs) for r in firsts):
            known = sorted({f"{slugs[r.post]}/{r.name}" for r in firsts})
            problems.append(Problem("command line", None, option,
                                    f"no experiment named {n} (known: {', '.join(known) or 'none'})"))
    if problems:
        raise InputError(problems)


def split_targets(root: Path, targets: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`journal run` arguments: those that name a post, and the rest (experiment names)."""
    if not targets:
        return (), ()
    posts = read_posts(root.resolve())
    named, rest = [], []
    for t in targets:
        try:
            select_posts(posts, (t,), root.resolve())
            named.append(t)
        except InputError:
            rest.append(t)
    return tuple(named), tuple(rest)


def _substitute(the_plan: Plan, swap) -> Plan:
    """The plan with every run (and seed) replaced by ``swap(run)``."""
    from generator.plan import Plan

    by_post = {post: {name: swap(run) for name, run in runs.items()}
               for post, runs in the_plan.by_post.items()}
    seeded = {k: tuple(swap(r) for r in runs) for k, runs in the_plan.seeded.items()}
    distinct: dict[str, Run] = {}
    for run in Plan(by_post, (), seeded).every_run():
        distinct.setdefault(run.key, run)
    return Plan(by_post, tuple(distinct.values()), seeded)


def _quick_versions(full: Plan, quick: Plan, keys: set[str]) -> dict[str, Run]:
    """Full key -> the quick run of the same experiment and seed, for the keys that would run."""
    out: dict[str, Run] = {}
    for post, runs in full.by_post.items():
        for name, run in runs.items():
            mine, theirs = full.replicas(run), quick.replicas(quick.by_post[post][name])
            for f, q in zip(mine, theirs):
                if f.key in keys:
                    out.setdefault(f.key, q)
    return out


def build(root: Path, opts: Options = Options()) -> Summary:
    """Run what is stale (of the posts named, if any), render every post, build the site."""
    if opts.frozen and (opts.quick or opts.rerun or opts.rerun_all or opts.posts):
        raise InputError(Problem("command line", None, "--frozen",
                                 "runs nothing, so it cannot be combined with --quick, --rerun "
                                 "or posts to build"))
    if opts.frozen and opts.site and not opts.preview:   # a frozen build is the one that gets published
        from generator.site.base import placeholder_urls

        for setting in placeholder_urls(root):
            console.print(f"[yellow]warning:[/] mkdocs.yml {escape_markup(setting)} is a placeholder: "
                          "set it to your own before publishing (journal deploy refuses it)",
                          markup=True, highlight=False)
    journal = Journal(root, opts.engine)
    if opts.site:
        journal.site.require()   # a missing engine is said before anything runs
    backend_name, address = choose_backend(journal.root, opts)
    started = manifest.now_ns()
    fast, seen = _replay(journal, opts)
    if fast is not None:
        return fast
    # the normal path's modules, imported only now: a fast build never needs them
    from generator.execute import Status
    from generator.plan import environment_problems
    from generator.render import check, claims_report, notebook_pages, progress, render, weeks, write

    memo = warm.memo(journal.root)   # what the last build in this process planned and checked
    memo.begin(seen, started)
    posts = read_posts(journal.root)
    the_plan = memo.plan(posts, quick=False)
    scanned = check(posts, the_plan)
    tracked = {}
    if opts.site:
        journal.site.check(journal.root)  # a wrong mkdocs.yml is found before anything runs
        tracked = config.headlines(journal.root)  # so is a wrong [tool.journal.headlines]
    slugs = {p.rel: p.slug for p in posts}
    _check_names(opts.rerun, the_plan, slugs, "--rerun")
    scope = {p.rel for p in select_posts(posts, opts.posts, journal.root)} if opts.posts else None
    quick_plan = memo.plan(posts, quick=True) if opts.quick else None
    summary = Summary()
    results, failures = {}, {}
    outcomes: list[Outcome] = []
    claims: list[Problem] = []   # checked claims that do not hold (kept going past)
    notes: list[list] = []       # what the build said, for a later build that replays it
    with journal.store.lock(wait=opts.wait, on_wait=lambda who: console.print(
            f"waiting for the results store, in use by {who} ...")):
        journal.store.clean_staging()
        journal.quick_store.clean_staging()
        journal.store.index()  # a damaged index is reported before anything runs
        if not opts.frozen:
            upgrade(journal, the_plan)
        todo: list[Run] = []
        stale: list[str] = []
        corrupt: list[str] = []
        skipped: list[str] = []
        the_plan = _pin(journal, the_plan, opts, slugs, memo.state)
        posts_of: dict[str, set[str]] = {}
        for r in the_plan.every_run():
            posts_of.setdefault(r.key, set()).add(r.post)
        for run in the_plan.runs:
            store = journal.store_for(run)
            forced = opts.rerun_all or _selected(run, opts.rerun, slugs)
            state, reasons, result = memo.state(store, run, check_files=True)
            if state in (State.FRESH, State.FROZEN) and not forced:
                results[run.key] = result
                summary.cached += 1
            elif opts.frozen:
                stale.append(f"{run.label} ({run.function}): {state.value}: {'; '.join(reasons)}")
            elif scope is not None and not forced and not posts_of[run.key] & scope:
                skipped.append(f"{run.label} ({state.value})")
                failures[run.key] = (f"{state.value}, and not run: its post was not among those "
                                     "built (`journal build` runs it)")
            elif state is State.CORRUPT and not forced:
                corrupt.append(f"{run.label}: stored result {result.path.relative_to(journal.root)} "
                               f"is corrupt ({'; '.join(reasons)}); run `journal build --rerun "
                               f"{run.name}` to replace it")
            else:
                todo.append(run)
        if quick_plan is not None and todo:
            # --quick previews only what would run; a fresh full result is always used
            swap = _quick_versions(the_plan, quick_plan, {r.key for r in todo})
            the_plan = _substitute(the_plan, lambda r: swap.get(r.key, r))
            previews = []
            for run in todo:
                q = swap.get(run.key, run)
                state, _, result = memo.state(journal.quick_store, q, check_files=True)
                if q.quick and state is State.FRESH and not (opts.rerun_all or _selected(run, opts.rerun, slugs)):
                    results[q.key] = result
                    summary.cached += 1
                else:
                    previews.append(q)
            todo = previews
        if skipped:
            console.print(f"not run (their posts were not named): {', '.join(skipped)}",
                          highlight=False)
        if stale:
            raise StaleResults("--frozen: these results would have to run:\n  " + "\n  ".join(stale)
                               + "\nRun `journal build` where experiments can run, commit results/, "
                                 "and build again.")
        if corrupt:
            raise RunFailed("\n".join(corrupt))
        env = environment_problems(journal.root, todo) if todo else []
        if env:
            raise InputError(Problem(LOCK_FILE, None, None,
                                     "the installed packages are not the locked ones, so nothing ran:\n  "
                                     + "\n  ".join(env) + f"\nInstall the locked ones (pip install -r "
                                     f"{LOCK_FILE}) or run `journal lock` to lock what is installed "
                                     "(the experiments that use a changed package then re-run)."))
        if todo:
            outcomes = _execute(journal, todo, opts, posts, backend_name, address)
            for o in outcomes:
                if o.status is Status.RAN:
                    results[o.run.key] = o.result
                    summary.ran += 1
                else:
                    failures[o.run.key] = o.error
                    summary.failed.append(o)
        else:
            _say(notes, f"all {len(the_plan.runs)} experiments are fresh: nothing to run",
                 quiet=opts.quiet, unless_quiet=True)
        if todo or not opts.frozen:
            # every post's experiment, not one per key: two posts may share a result. Also when
            # nothing ran: a post that reuses another's result must find it again once it is pinned
            journal.store.write_index([r for r in the_plan.every_run() if not r.quick])
        if summary.failed and not opts.keep_going:
            raise RunFailed(failure_report(summary.failed, journal.root))
        if opts.site:
            for p in _lint(posts, the_plan, scanned, results, strict=opts.strict_prose or opts.frozen):
                _say(notes, f"[yellow]warning:[/] {p}", markup=True, highlight=False)
            ran = frozenset(o.run.key for o in outcomes if o.status is Status.RAN)
            pages = render(posts, the_plan, scanned, results, failures, journal.charts,
                           quick=opts.quick, ran=ran, site=journal.site, keep_going=opts.keep_going)
            claims = [c for page in pages for c in page.failed_claims]
            progress_md, progress_files = progress(posts, the_plan, results, journal.charts, journal.site,
                                                    tracked)
            intended: dict = {}   # what each page and image in docs/ holds, for the record
            write(pages, journal.generated, files=progress_files, intended=intended)
            notebooks = notebook_pages(posts, the_plan, results, journal.site)
            if notebooks or journal.site.notebooks(journal.root).exists():
                write(notebooks, journal.site.notebooks(journal.root), intended=intended)
            write([], journal.root / "docs" / ".generated", {"weeks.md": weeks(posts, the_plan, results, journal.site),
                                                             "progress.md": progress_md},
                  intended=intended)
            summary.pages = len(pages)
            # under the lock: two builds (or serve's) never write docs/ and site/ at once
            summary.site = _site(journal, opts)
            extra = _read_elsewhere(journal, the_plan, results)
            memo.finish(extra)
            if not manifest.usable(opts):
                pass
            elif summary.failed or (claims and not opts.quick) or seen is None:
                manifest.forget(journal.root)
            else:
                later = [[f"[yellow]warning:[/] {c} (with --quick results)", True, False, False, True]
                         for c in claims]
                manifest.record(journal.root, opts, journal.site.name, started, seen, extra,
                                [journal.generated, journal.site.notebooks(journal.root),
                                 journal.root / "docs" / ".generated"], intended,
                                manifest.Replay(notes + later, summary.cached, summary.pages))
    if opts.site:
        if claims and opts.quick:
            for c in claims:
                console.print(f"[yellow]warning:[/] {c} (with --quick results)", markup=True,
                              highlight=False)
        elif claims:
            raise ClaimFailed(claims_report(claims) + "\nThe site was built; each page boxes its claims "
                                                      "that do not hold.")
    if summary.failed:
        raise RunFailed(failure_report(summary.failed, journal.root)
                        + "\nThe site was built; the failed experiments' posts show a warning box.")
    return summary


def _pin(journal: Journal, the_plan: Plan, opts: Options, slugs: dict[str, str], state_of=None) -> Plan:
    """In pinned posts, an experiment whose stored result stands (frozen) is planned as
    that result's run, so the page shows what is stored under its key."""
    def pinned(run: Run) -> Run:
        if run.pinned and not run.quick and not opts.rerun_all and not _selected(run, opts.rerun, slugs):
            state, _, result = (state_of(journal.store, run) if state_of else journal.store.state(run))
            if state is State.FROZEN and result is not None and result.key != run.key:
                return replace(run, key=result.key)
        return run

    return _substitute(the_plan, pinned)


def upgrade(journal: Journal, the_plan: Plan) -> list[Run]:
    """Re-key results stored under the previous key format whose recorded inputs are what
    the posts and code give now, read under that format. Nothing runs; called under the lock."""
    done: dict[str, Run] = {}
    old: dict[Path, str] = {}
    labels = [r for r in the_plan.every_run() if not r.quick]
    for run in labels:
        try:
            if run.key in done or journal.store.load(run) is not None:
                continue
        except CorruptStore:
            continue  # reported (and replaced on request) as any damaged result is
        legacy = journal.store.legacy(run)
        if legacy is None or journal.store.verify(legacy):
            continue
        journal.store.rekey(run, legacy)
        done[run.key] = run
        old[legacy.path] = legacy.key
    if done:
        journal.store.write_index(labels)
        still = set(journal.store.index().values())
        for path, key in old.items():
            if key not in still:
                shutil.rmtree(path, ignore_errors=True)
    return list(done.values())


def choose_backend(root: Path, opts: Options) -> tuple[str, str | None]:
    """The backend and cluster address: the command line's, else [tool.journal]'s, else local."""
    if opts.address is not None and opts.backend == "local":
        raise InputError(Problem("command line", None, "--address",
                                 "is the Ray cluster to run on; it goes with --backend ray"))
    override = opts.backend or ("ray" if opts.address is not None else None)
    name = config.choice(root, "backend", backends.NAMES, "local", override)
    address = config.text(root, "address", "a Ray address: auto, HOST:PORT or ray://HOST:10001",
                          opts.address) if name == "ray" else None
    if name == "ray" and not opts.frozen and not backends.ray_installed():  # frozen: runs nothing
        message = f"the ray backend needs Ray, which is not installed here: {backends.INSTALL_RAY}"
        raise InputError(Problem("command line", None, "--backend", message) if override else
                         Problem(config.FILE, config.line(root, "backend"), "tool.journal.backend",
                                 message))
    return name, address


def _lint(posts: list[Post], the_plan: Plan, scanned: dict, results: dict, *,
          strict: bool) -> list[Problem]:
    """Hand-typed numbers that a parameter or result holds: warnings (returned), or errors when strict."""
    from generator.lint import lint

    problems = lint(posts, the_plan, scanned, results)
    if strict and problems:
        raise InputError(problems + [Problem("command line", None, None,
                                             "--strict-prose and --frozen refuse hand-typed numbers")])
    return problems


def _say(notes: list[list], text: str, *, markup: bool = True, highlight: bool = True,
         quiet: bool = False, unless_quiet: bool = False) -> None:
    """Print a line of the build's report and keep it for a fast build to say again."""
    notes.append([text, markup, highlight, unless_quiet, False])
    if not (quiet and unless_quiet):
        console.print(text, markup=markup, highlight=highlight)


def _replay(journal: Journal, opts: Options) -> tuple[Summary | None, dict | None]:
    """The fast path: when nothing a build reads or wrote has changed since the last one
    (see generator/manifest.py), say what it said and build the site from docs/ as it is.
    Also the signatures of what a build reads, as found now (None: uncertain)."""
    if not manifest.usable(opts):
        return None, manifest.check(journal.root, opts, journal.site.name)[1]
    with journal.store.lock(wait=opts.wait, on_wait=lambda who: console.print(
            f"waiting for the results store, in use by {who} ...")):
        replay, seen = manifest.check(journal.root, opts, journal.site.name)
        if replay is None:
            return None, seen
        said = [n for n in replay.notes if not (n[3] and opts.quiet)]
        for text, markup, highlight, _, after in said:
            if not after:   # the build's own lines; those after the site come after it
                console.print(text, markup=markup, highlight=highlight)
        site = _site(journal, opts)
    for text, markup, highlight, _, after in said:
        if after:
            console.print(text, markup=markup, highlight=highlight)
    return Summary(cached=replay.cached, site=site, pages=replay.pages, fast=True), seen


def _site(journal: Journal, opts: Options) -> Path:
    """Build the site from docs/: where the options say, or journal serve's preview."""
    if opts.preview:
        return journal.site.preview(journal.root, quick=opts.preview == "quick")
    return journal.site.build(journal.root, site_dir=opts.site_dir)


def _read_elsewhere(journal: Journal, the_plan: Plan, results: dict) -> list[str]:
    """Files a build read outside the folders the record walks: data files, notebooks,
    and the files results read when they ran."""
    from generator.notebook import is_notebook

    out = set()
    for run in the_plan.every_run():
        out.update(str(journal.root / d) for d in run.inputs.get("data", {}))
        if is_notebook(run.function):
            out.add(str(journal.root / run.function))
    for result in results.values():
        for rel in (result.meta.get("reads") or {}) if result is not None else ():
            out.add(str(Path(rel) if Path(rel).is_absolute() else journal.root / rel))
    return sorted(out)


def _execute(journal: Journal, runs: list[Run], opts: Options, posts: list[Post], backend_name: str,
             address: str | None) -> list[Outcome]:
    from generator.cores import usable_cores
    from generator.execute import Executor
    from generator.progress import reporter  # looked up here, at the call: tests record it

    backend = backends.make(backend_name, root=journal.root, jobs=opts.jobs or usable_cores(),
                            address=address)
    try:
        refused = backend.check({r.key: r.resources for r in runs})
        if refused:  # before anything runs
            by_rel = {p.rel: p for p in posts}
            raise InputError([Problem(r.post, by_rel[r.post].line("experiments", r.name, "resources", k),
                                      f"experiments.{r.name}.resources.{k}", why)
                              for r in runs if r.key in refused for k, why in [refused[r.key]]])
        rep = reporter(len(runs), quiet=opts.quiet)
        rep.begin()
        try:
            return Executor(journal.store_for, journal.root, journal.logs, backend=backend,
                            reporter=rep).run_all(runs)
        finally:
            rep.close()
    finally:
        backend.close()


def failure_report(failed: list[Outcome], root: Path) -> str:
    lines = [f"{len(failed)} experiment{'s' * (len(failed) != 1)} failed:"]
    for o in failed:
        log = o.log.relative_to(root) if o.log and o.log.is_relative_to(root) else o.log
        lines.append(f"- {o.run.name} ({o.run.function}) in {o.run.post}:")
        lines += ["    " + line for line in o.error.splitlines()[-8:]]
        lines.append(f"    full log: {log}")
    return "\n".join(lines)


@dataclass(frozen=True)
class StatusLine:
    run: Run
    state: State
    reasons: tuple[str, ...]


def status(root: Path, posts: tuple[str, ...] = ()) -> list[StatusLine]:
    """Each experiment of the named posts (default: all) with its state and what changed."""
    journal = Journal(root)
    every, the_plan = journal.read()
    chosen = {p.rel for p in select_posts(every, posts, journal.root)}
    journal.store.index()  # a damaged index is reported here too
    out = []
    for rel, post_runs in the_plan.by_post.items():
        if rel not in chosen:
            continue
        for run in (r for first in post_runs.values() for r in the_plan.replicas(first)):
            state, reasons, _ = journal.store.state(run, check_files=True)
            out.append(StatusLine(run, state, tuple(reasons)))
    return out


def upgrade_results(root: Path) -> list[Run]:
    """`journal upgrade`: re-key the results of an older key format without running."""
    journal = Journal(root)
    _, the_plan = journal.read()
    with journal.store.lock():
        return upgrade(journal, the_plan)


def gc(root: Path, dry_run: bool = False) -> list[Path]:
    """Remove stored results that no post uses (full profile) and all quick results."""
    journal = Journal(root)
    posts, the_plan = journal.read()
    the_plan = _pin(journal, the_plan, Options(), {p.rel: p.slug for p in posts})
    used = {r.key for r in the_plan.runs}
    removed = []
    with journal.store.lock():
        kept = {journal.store.folder(r) for r in the_plan.runs}
        for folder in list(journal.store.folders()):  # by folder: a damaged one goes too
            if folder not in kept:
                removed.append(folder)
                if not dry_run:
                    shutil.rmtree(folder)
        if journal.quick_store.root.is_dir():
            removed.append(journal.quick_store.root)
            if not dry_run:
                shutil.rmtree(journal.quick_store.root)
        if not dry_run:
            journal.store.prune_index(used)
            for folder in journal.store.root.glob("*/"):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    return removed


__all__ = ["Options", "Summary", "build", "status", "gc", "JournalError"]

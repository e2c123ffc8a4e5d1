"""``journal build`` and ``journal run``: the pipeline.

    read the posts -> plan their experiments -> check every reference -> sort each run:
    stored (fresh or frozen) or to run -> run what is stale -> render every post -> build
    the site

Everything is gathered and validated before anything runs; everything runs before the
site is written. When nothing a build reads has changed since the last one, the record
of that build (``generator.incremental.manifest``) replays it and goes straight to the
site engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape as escape_markup

from generator.console import console
from generator.context import Journal
from generator.errors import (
    ClaimFailed,
    InputError,
    Problem,
    RunFailed,
    Stale,
    StaleResults,
)
from generator.incremental import manifest
from generator.incremental.manifest import Note
from generator.source.lock import LOCK_FILE
from generator.source.posts import read_posts, select_posts
from generator.store import checkpoints

if TYPE_CHECKING:
    from generator.plan.model import Plan, Run
    from generator.render.check import Scanned
    from generator.run.execute import Outcome
    from generator.source.posts import Post
    from generator.store import Result


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
    engine: str | None = None    # the site engine (default: [tool.journal] engine, else material)
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


@dataclass
class _Sorted:
    """Each distinct run of the plan, sorted by what the build does with it."""

    results: dict[str, Result] = field(default_factory=dict)   # key -> the result a page uses
    failures: dict[str, str] = field(default_factory=dict)     # key -> why it has none
    todo: list[Run] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)           # what --frozen would have to run
    corrupt: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)           # of posts not named


def build(root: Path, opts: Options = Options()) -> Summary:
    """Run what is stale (of the posts named, if any), render every post, build the site."""
    _check_options(opts)
    journal = Journal.open(root, engine=opts.engine, backend=opts.backend, address=opts.address)
    if opts.frozen and opts.site and not opts.preview:   # a frozen build is the one that gets published
        _warn_placeholders(journal)
    if opts.site:
        journal.engine.require()   # a missing engine is said before anything runs
    check_backend(journal, opts)
    started = manifest.now_ns()
    fast, seen = _replay(journal, opts)
    if fast is not None:
        return fast
    from generator.incremental.memo import memo as memo_of

    memo = memo_of(journal.root)   # what the last build in this process planned and checked
    memo.begin(seen, started)
    posts, the_plan, scanned = _read(journal, opts, memo)
    summary, notes = Summary(), []
    with journal.locked(wait=opts.wait):
        _prepare_store(journal, opts, the_plan)
        slugs = {p.rel: p.slug for p in posts}
        the_plan = pin(journal, the_plan, opts, slugs, memo.state)
        work = _sort(journal, the_plan, opts, posts, memo)
        if opts.quick and work.todo:
            the_plan = _quick(journal, the_plan, work, opts, posts, memo)
        summary.cached = len(work.results)
        _refuse(journal, work)
        outcomes = _run(journal, work, opts, posts) if work.todo else []
        for o in outcomes:
            if o.failed:
                work.failures[o.run.key] = o.error
                summary.failed.append(o)
            else:
                work.results[o.run.key] = o.result
                summary.ran += 1
        if not work.todo:
            _say(notes, f"all {len(the_plan.runs)} experiments are fresh: nothing to run",
                 quiet=opts.quiet, unless_quiet=True)
        if work.todo or not opts.frozen:
            # every post's experiment, not one per key: two posts may share a result. Also when
            # nothing ran: a post that reuses another's result must find it again once it is pinned
            journal.store.write_index([r for r in the_plan.every_run() if not r.quick])
        if summary.failed and not opts.keep_going:
            raise RunFailed(failure_report(summary.failed, journal.root))
        claims: list[Problem] = []
        if opts.site:
            ran = frozenset(o.run.key for o in outcomes if not o.failed)
            claims = _render_site(journal, opts, posts, the_plan, scanned, work, ran, summary, notes,
                                  started, seen, memo)
    if claims and opts.quick:
        for c in claims:
            console.print(f"[yellow]warning:[/] {c} (with --quick results)", markup=True, highlight=False)
    elif claims:
        from generator.render.page import claims_report

        raise ClaimFailed(claims_report(claims) + "\nThe site was built; each page boxes its claims "
                                                  "that do not hold.")
    if summary.failed:
        raise RunFailed(failure_report(summary.failed, journal.root)
                        + "\nThe site was built; the failed experiments' posts show a warning box.")
    return summary


# -- the stages -------------------------------------------------------------------------

def _check_options(opts: Options) -> None:
    if opts.frozen and (opts.quick or opts.rerun or opts.rerun_all or opts.posts):
        raise InputError(Problem("command line", None, "--frozen",
                                 "runs nothing, so it cannot be combined with --quick, --rerun "
                                 "or posts to build"))


def _warn_placeholders(journal: Journal) -> None:
    for setting in journal.placeholders():
        console.print(f"[yellow]warning:[/] mkdocs.yml {escape_markup(setting)} is a placeholder: "
                      "set it to your own before publishing (journal deploy refuses it)",
                      markup=True, highlight=False)


def _read(journal: Journal, opts: Options, memo) -> tuple[list[Post], Plan, Scanned]:
    """Every post, the plan, and every reference checked: all before anything runs."""
    from generator.render.check import check

    posts = read_posts(journal.root)
    the_plan = memo.plan(posts, quick=False)
    scanned = check(posts, the_plan)
    if opts.site:
        journal.engine.check(journal.root)  # a wrong mkdocs.yml is found before anything runs
    slugs = {p.rel: p.slug for p in posts}
    check_names(opts.rerun, the_plan, slugs, "--rerun")
    if opts.posts:
        select_posts(posts, opts.posts, journal.root)   # a post that does not exist is said now
    return posts, the_plan, scanned


def _prepare_store(journal: Journal, opts: Options, the_plan: Plan) -> None:
    """Under the lock: leftovers of killed builds go, a damaged index is reported, and
    results stored under an earlier key are re-keyed (nothing runs)."""
    from generator.commands.upgrade import upgrade

    journal.store.clean_staging()
    journal.quick_store.clean_staging()
    journal.store.index()  # a damaged index is reported before anything runs
    if not opts.frozen:
        upgrade(journal, the_plan)


def _sort(journal: Journal, the_plan: Plan, opts: Options, posts: list[Post], memo) -> _Sorted:
    """Each run: its stored result is used, or it runs, or (frozen, scoped, corrupt) it is said."""
    from generator.plan.freshness import State

    slugs = {p.rel: p.slug for p in posts}
    scope = {p.rel for p in select_posts(posts, opts.posts, journal.root)} if opts.posts else None
    posts_of: dict[str, set[str]] = {}
    for r in the_plan.every_run():
        posts_of.setdefault(r.key, set()).add(r.post)
    work = _Sorted()
    for run in the_plan.runs:
        forced = opts.rerun_all or selected(run, opts.rerun, slugs)
        if forced and not opts.frozen:  # starting over: its checkpoint, if any, goes
            checkpoints.discard(journal.checkpoints, run.key)
        state, reasons, result = memo.state(journal.store_for(run), run, check_files=True)
        if state in (State.FRESH, State.FROZEN) and not forced:
            work.results[run.key] = result
        elif opts.frozen:
            work.stale.append(Stale(run.label, run.function, state.value, tuple(reasons)))
        elif scope is not None and not forced and not posts_of[run.key] & scope:
            work.skipped.append(f"{run.label} ({state.value})")
            work.failures[run.key] = (f"{state.value}, and not run: its post was not among those "
                                      "built (`journal build` runs it)")
        elif state is State.CORRUPT and not forced:
            work.corrupt.append(f"{run.label}: stored result {result.path.relative_to(journal.root)} "
                                f"is corrupt ({'; '.join(reasons)}); run `journal build --rerun "
                                f"{run.name}` to replace it")
        else:
            work.todo.append(run)
    return work


def _quick(journal: Journal, the_plan: Plan, work: _Sorted, opts: Options, posts: list[Post],
           memo) -> Plan:
    """--quick previews only what would run (a fresh full result is always used): each run
    to do becomes its quick version, which may be stored already."""
    from generator.plan.freshness import State

    slugs = {p.rel: p.slug for p in posts}
    quick_plan = memo.plan(posts, quick=True)
    swap = _quick_versions(the_plan, quick_plan, {r.key for r in work.todo})
    the_plan = the_plan.substitute(lambda r: swap.get(r.key, r))
    previews = []
    for run in work.todo:
        q = swap.get(run.key, run)
        state, _, result = memo.state(journal.quick_store, q, check_files=True)
        if q.quick and state is State.FRESH and not (opts.rerun_all or selected(run, opts.rerun, slugs)):
            work.results[q.key] = result
        else:
            previews.append(q)
    work.todo = previews
    return the_plan


def _refuse(journal: Journal, work: _Sorted) -> None:
    """Say what will not run, and stop if the build cannot go on: a frozen build that would
    have to run, a damaged result, packages that are not the locked ones."""
    from generator.plan.keys import environment_problems

    if work.skipped:
        console.print(f"not run (their posts were not named): {', '.join(work.skipped)}",
                      highlight=False)
    if work.stale:
        raise StaleResults(work.stale, "Run `journal build` where experiments can run, commit results/, "
                                       "and build again.")
    if work.corrupt:
        raise RunFailed("\n".join(work.corrupt))
    env = environment_problems(journal.root, work.todo) if work.todo else []
    if env:
        raise InputError(Problem(LOCK_FILE, None, None,
                                 "the installed packages are not the locked ones, so nothing ran:\n  "
                                 + "\n  ".join(env) + f"\nInstall the locked ones (pip install -r "
                                 f"{LOCK_FILE}) or run `journal lock` to lock what is installed "
                                 "(the experiments that use a changed package then re-run)."))


def _run(journal: Journal, work: _Sorted, opts: Options, posts: list[Post]) -> list[Outcome]:
    """Run the stale experiments through the backend the journal chose."""
    from generator.run import backends, progress
    from generator.run.cores import usable_cores
    from generator.run.execute import Executor

    runs = work.todo
    backend = backends.make(journal.config.backend, root=journal.root, jobs=opts.jobs or usable_cores(),
                            address=journal.config.address)
    try:
        refused = backend.check({r.key: r.resources for r in runs})
        if refused:  # before anything runs
            by_rel = {p.rel: p for p in posts}
            raise InputError([Problem(r.post, by_rel[r.post].line("experiments", r.name, "resources", k),
                                      f"experiments.{r.name}.resources.{k}", why)
                              for r in runs if r.key in refused for k, why in [refused[r.key]]])
        rep = progress.reporter(len(runs), quiet=opts.quiet)   # looked up now: tests record it
        rep.begin()
        try:
            return Executor(journal.store_for, journal.root, journal.logs, backend=backend,
                            reporter=rep, checkpoints=journal.checkpoints,
                            live=journal.live).run_all(runs)
        finally:
            rep.close()
    finally:
        backend.close()


def _render_site(journal: Journal, opts: Options, posts: list[Post], the_plan: Plan, scanned: Scanned,
                 work: _Sorted, ran: frozenset[str], summary: Summary, notes: list[Note],
                 started: int, seen: dict | None, memo) -> list[Problem]:
    """Render every page into docs/, build the site, record the build; the claims that do
    not hold (their pages box them)."""
    from generator.render.home import weeks
    from generator.render.lint import lint
    from generator.render.notebooks import notebook_pages
    from generator.render.page import Page, Rendering, render
    from generator.render.progress_page import progress
    from generator.render.write import write

    results = work.results
    found = lint(posts, the_plan, scanned, results)
    if found and (opts.strict_prose or opts.frozen):
        raise InputError(found + [Problem("command line", None, None,
                                          "--strict-prose and --frozen refuse hand-typed numbers")])
    for p in found:
        _say(notes, f"[yellow]warning:[/] {p}", markup=True, highlight=False)
    rendering = Rendering(journal, posts, the_plan, results, work.failures, ran)
    pages = render(rendering, scanned, quick=opts.quick, keep_going=opts.keep_going)
    claims = [c for page in pages for c in page.failed_claims]
    for flagged in (c for page in pages for c in page.flagged_claims):
        _say(notes, f"[yellow]warning:[/] {escape_markup(str(flagged))}", markup=True, highlight=False)
    progress_md, progress_files = progress(posts, the_plan, results, journal.charts, journal.engine,
                                           journal.config.headlines)
    intended: dict = {}   # what each page and image in docs/ holds, for the record
    write(pages, journal.generated, files=progress_files, intended=intended)
    notebooks = [Page(rel, text, files) for rel, text, files in
                 notebook_pages(posts, the_plan, results, journal.engine)]
    if notebooks or journal.notebooks.exists():
        write(notebooks, journal.notebooks, intended=intended)
    write([], journal.generated_pages, {"weeks.md": weeks(posts, the_plan, results, journal.engine),
                                        "progress.md": progress_md}, intended=intended)
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
        later = [Note(f"[yellow]warning:[/] {c} (with --quick results)", True, False, False, True)
                 for c in claims]
        manifest.record(journal.root, opts, journal.engine.name, started, seen, extra,
                        [journal.generated, journal.notebooks, journal.generated_pages], intended,
                        manifest.Replay(notes + later, summary.cached, summary.pages))
    return claims


def _site(journal: Journal, opts: Options) -> Path:
    """Build the site from docs/: where the options say, or journal serve's preview."""
    if opts.preview:
        return journal.engine.preview(journal.root, quick=opts.preview == "quick")
    return journal.engine.build(journal.root, site_dir=opts.site_dir)


def _replay(journal: Journal, opts: Options) -> tuple[Summary | None, dict | None]:
    """The fast path: when nothing a build reads or wrote has changed since the last one
    (see generator/incremental/manifest.py), say what it said and build the site from
    docs/ as it is. Also the signatures of what a build reads, as found now (None: uncertain)."""
    if not manifest.usable(opts):
        return None, manifest.check(journal.root, opts, journal.engine.name)[1]
    with journal.locked(wait=opts.wait):
        replay, seen = manifest.check(journal.root, opts, journal.engine.name)
        if replay is None:
            return None, seen
        said = [n for n in replay.notes if not (n.unless_quiet and opts.quiet)]
        for n in said:
            if not n.after:   # the build's own lines; those after the site come after it
                console.print(n.text, markup=n.markup, highlight=n.highlight)
        site = _site(journal, opts)
    for n in said:
        if n.after:
            console.print(n.text, markup=n.markup, highlight=n.highlight)
    return Summary(cached=replay.cached, site=site, pages=replay.pages, fast=True), seen


def _say(notes: list[Note], text: str, *, markup: bool = True, highlight: bool = True,
         quiet: bool = False, unless_quiet: bool = False) -> None:
    """Print a line of the build's report and keep it for a fast build to say again."""
    notes.append(Note(text, markup, highlight, unless_quiet, False))
    if not (quiet and unless_quiet):
        console.print(text, markup=markup, highlight=highlight)


def _read_elsewhere(journal: Journal, the_plan: Plan, results: dict) -> list[str]:
    """Files a build read outside the folders the record walks: data files, notebooks,
    and the files results read when they ran."""
    out = set()
    for run in the_plan.every_run():
        out.update(str(journal.root / d) for d in run.inputs.get("data", {}))
        if run.notebook:
            out.add(str(journal.root / run.function))
    for result in results.values():
        for rel in (result.meta.get("reads") or {}) if result is not None else ():
            out.add(str(Path(rel) if Path(rel).is_absolute() else journal.root / rel))
    return sorted(out)


# -- choosing runs ------------------------------------------------------------------------

def selected(run: Run, names: tuple[str, ...], slugs: dict[str, str]) -> bool:
    """Whether ``run`` is one of ``names``: its name, ``slug/name`` or its function."""
    qualified = f"{slugs.get(run.post, '')}/{run.name}"
    return run.name in names or qualified in names or run.function in names


def check_names(names: tuple[str, ...], the_plan: Plan, slugs: dict[str, str], option: str) -> None:
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
        elif not any(selected(r, (n,), slugs) for r in firsts):
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


def pin(journal: Journal, the_plan: Plan, opts: Options, slugs: dict[str, str], state_of=None) -> Plan:
    """In pinned posts, an experiment whose stored result stands (frozen) is planned as
    that result's run, so the page shows what is stored under its key."""
    from generator.plan.freshness import State, state

    def pinned(run: Run) -> Run:
        if run.pinned and not run.quick and not opts.rerun_all and not selected(run, opts.rerun, slugs):
            found, _, result = (state_of(journal.store, run) if state_of else state(journal.store, run))
            if found is State.FROZEN and result is not None and result.key != run.key:
                return replace(run, key=result.key)
        return run

    return the_plan.substitute(pinned)


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


def check_backend(journal: Journal, opts: Options) -> None:
    """The backend the journal chose can run here: Ray installed, an address only with Ray."""
    from generator.run import backends

    config = journal.config
    if opts.address is not None and opts.backend == "local":
        raise InputError(Problem("command line", None, "--address",
                                 "is the Ray cluster to run on; it goes with --backend ray"))
    if opts.address is not None and opts.backend is None and config.backend != "ray":
        journal.config = config = config.with_options(backend="ray")
    if config.backend == "ray" and not opts.frozen and not backends.ray_installed():  # frozen: runs nothing
        message = f"the ray backend needs Ray, which is not installed here: {backends.INSTALL_RAY}"
        where = config.where("backend")
        raise InputError(replace(where, message=message))


def failure_report(failed: list[Outcome], root: Path) -> str:
    from generator.run.execute import Status

    stopped = sum(o.status is Status.STOPPED for o in failed)
    broke = len(failed) - stopped
    said = [f"{broke} experiment{'s' * (broke != 1)} failed"] if broke else []
    if stopped:
        said.append(f"{stopped} stopped with a checkpoint to resume from")
    lines = [", ".join(said) + ":"]
    for o in failed:
        log = o.log.relative_to(root) if o.log and o.log.is_relative_to(root) else o.log
        lines.append(f"- {o.run.name} ({o.run.function}) in {o.run.post}:")
        lines += ["    " + line for line in o.error.splitlines()[-8:]]
        lines.append(f"    full log: {log}")
    return "\n".join(lines)

"""The ``journal`` command: its arguments, and its exit codes, chosen here and nowhere else:
0 success, 1 an experiment failed (or results are stale under --frozen),
2 bad input, 130 interrupted. What each command does and says is ``generator.commands``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.markup import escape

from generator import __version__
from generator.console import console, out
from generator.errors import InputError, JournalError, printable
from generator.source.config import BACKENDS, ENGINES


class _Ctx:
    def __init__(self, root: Path, debug: bool) -> None:
        self.root = root
        self.debug = debug


def _guard(fn):
    """Turn the journal's errors into messages and exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context().find_object(_Ctx)
        debug = ctx.debug if ctx else False
        try:
            return fn(*args, **kwargs)
        except JournalError as e:
            if debug:
                raise
            label = "error" if isinstance(e, InputError) else "failed"
            console.print(f"[bold red]{label}:[/] ", end="")
            console.print(printable(str(e)), markup=False, highlight=False)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            console.print("[bold red]interrupted[/]: stopped all experiments; finished results were kept")
            sys.exit(130)
        except Exception as e:  # noqa: BLE001 - a bug: say so briefly, details with --debug
            if debug:
                raise
            from generator.run.execute import Interrupted

            if isinstance(e, Interrupted):
                console.print("[bold red]interrupted[/]: stopped all experiments; "
                              "finished results were kept")
                sys.exit(130)
            console.print(f"[bold red]internal error:[/] {type(e).__name__}: {escape(printable(str(e)))}\n"
                          "Run again with --debug for the traceback.", markup=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "--root", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="The journal's folder (default: the current one).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(version=__version__, prog_name="journal",
                      message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, root: Path, debug: bool) -> None:
    """journal: a blog of weekly ML experiments, rebuilt from cached results."""
    ctx.obj = _Ctx(root, debug)


def _run_options(fn):
    opts = [
        click.option("--quick", is_flag=True, help="Apply each experiment's `quick:` overrides "
                     "(fast preview; quick results never replace full ones)."),
        click.option("--rerun", multiple=True, metavar="NAME",
                     help="Run this experiment again even if fresh (repeatable)."),
        click.option("--rerun-all", is_flag=True, help="Run every experiment again."),
        click.option("-j", "--jobs", type=click.IntRange(1, 256), default=None,
                     help="Experiments to run at once (default: one per core)."),
        click.option("--keep-going", is_flag=True, help="Build the site even if an experiment "
                     "fails; its post shows a warning box."),
        click.option("--no-wait", is_flag=True, help="Fail instead of waiting if another build "
                     "holds the results store."),
        click.option("-q", "--quiet", is_flag=True, help="Print only errors and the summary."),
        click.option("--backend", type=click.Choice(list(BACKENDS)), default=None,
                     help="Where experiments run: worker processes here, or one Ray task each on "
                          "a Ray cluster (default: [tool.journal] backend, else local)."),
        click.option("--address", metavar="ADDR", default=None,
                     help="The Ray cluster: auto, HOST:PORT or ray://HOST:10001 (implies "
                          "--backend ray; default: [tool.journal] address)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


@main.command()
@_run_options
@click.option("--frozen", is_flag=True, help="Run nothing: fail if any result is stale or "
              "missing, or if prose types a number a result holds (what CI uses).")
@click.option("--strict-prose", is_flag=True, help="A number typed in prose that a parameter or "
              "metric holds is an error, not a warning.")
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the site (default: site/).")
@click.option("--engine", type=click.Choice(list(ENGINES)), default=None,
              help="The site engine (default: [tool.journal] engine in pyproject.toml, else material).")
@click.argument("posts", nargs=-1, metavar="[POST]...")
@click.pass_obj
@_guard
def build(obj: _Ctx, quick, rerun, rerun_all, jobs, keep_going, no_wait, quiet, backend, address,
          frozen, strict_prose, site_dir, engine, posts):
    """Run stale experiments, render the posts and build the site.

    POSTs (a path, file name or slug) limit what runs to those posts' stale experiments;
    every page is still built, from what is stored (a stale experiment of another post
    shows a warning box on its page)."""
    from generator.commands.build import Options
    from generator.commands.build import build as do_build

    t0 = time.perf_counter()
    s = do_build(obj.root, Options(quick=quick, frozen=frozen, rerun=tuple(rerun),
                                   rerun_all=rerun_all, jobs=jobs or 0, keep_going=keep_going,
                                   strict_prose=strict_prose,
                                   wait=not no_wait, quiet=quiet, site_dir=site_dir,
                                   engine=engine, backend=backend, address=address,
                                   posts=tuple(posts)))
    console.print(f"built {s.pages} post{'s' * (s.pages != 1)} into {_shown(s.site)} in "
                  f"{time.perf_counter() - t0:.1f}s: {s.ran} experiment{'s' * (s.ran != 1)} ran, "
                  f"{s.cached} from the cache" + ("; no post changed since the last build" if s.fast else ""))


@main.command("run")
@_run_options
@click.argument("names", nargs=-1, metavar="[POST|NAME]...")
@click.pass_obj
@_guard
def run_cmd(obj: _Ctx, names, quick, rerun, rerun_all, jobs, keep_going, no_wait, quiet, backend,
            address):
    """Run stale experiments without building the site.

    A POST (a path, file name or slug) limits the run to that post's stale experiments.
    A NAME (an experiment: `name` when one post uses it, else `slug/name`; or a function,
    `makemore.mlp`) runs again even if fresh."""
    from generator.commands.build import Options, split_targets
    from generator.commands.build import build as do_build

    posts, names = split_targets(obj.root, tuple(names))
    s = do_build(obj.root, Options(quick=quick, rerun=tuple(rerun) + names, posts=posts,
                                   rerun_all=rerun_all, jobs=jobs or 0, keep_going=keep_going,
                                   wait=not no_wait, quiet=quiet, site=False, backend=backend,
                                   address=address))
    console.print(f"{s.ran} ran, {s.cached} from the cache")


@main.command()
@click.argument("posts", nargs=-1, metavar="[POST]...")
@click.option("--explain", is_flag=True, help="Say what changed for each stale result.")
@click.pass_obj
@_guard
def status(obj: _Ctx, posts, explain: bool):
    """List every experiment of every post (or of the POSTs named: a path, file name or slug)
    as fresh, stale, missing, corrupt or frozen (pinned)."""
    from generator.commands.status import report
    from generator.commands.status import status as do_status

    report(do_status(obj.root, tuple(posts)), explain)


@main.command()
@click.argument("posts", nargs=-1)
@click.pass_obj
@_guard
def freeze(obj: _Ctx, posts):
    """Pin POSTs (`freeze: true` in their front matter): their results are used as stored
    even when code, packages or data they depend on change. `journal status` shows them
    as frozen and, with --explain, what changed since they ran."""
    from generator.commands.freeze import pin

    pin(obj.root, posts, True)


@main.command()
@click.argument("posts", nargs=-1)
@click.pass_obj
@_guard
def unfreeze(obj: _Ctx, posts):
    """Unpin POSTs: remove `freeze: true` from their front matter, so what changed runs again."""
    from generator.commands.freeze import pin

    pin(obj.root, posts, False)


@main.command()
@click.pass_obj
@_guard
def lock(obj: _Ctx):
    """Write experiments.lock: the installed version of every package the experiments import.

    Keys read package versions from the lock, so a frozen build (publishing) needs none of
    them installed; a build that runs experiments checks the installed ones against it."""
    from generator.commands.lock import lock as do_lock

    path, versions, missing = do_lock(obj.root)
    for d, v in sorted(versions.items()):
        out.print(f"{d}=={v}", markup=False)
    if missing:
        console.print(f"not installed, so not locked: {', '.join(missing)}", highlight=False)
    console.print(f"wrote {_relative(path)}")


@main.command()
@click.pass_obj
@_guard
def upgrade(obj: _Ctx):
    """Re-key results stored under an older key format, without running anything.

    A result is re-keyed when the inputs it recorded are exactly what the posts and
    code give now, read under the format it was stored with. `journal build` does
    this too before it decides what to run."""
    from generator.commands.upgrade import upgrade_results

    done = upgrade_results(obj.root)
    for run in done:
        out.print(f"re-keyed {run.label} ({run.function}) -> {run.short}", markup=False)
    out.print(f"{len(done)} result{'s' * (len(done) != 1)} re-keyed")


@main.command()
@click.argument("names", nargs=-1)
@click.pass_obj
@_guard
def show(obj: _Ctx, names):
    """What each experiment's stored result holds: metrics, series, figures, artifacts.

    NAMES are experiment names (or slug/name); without them, every experiment. The
    names printed are the qualified ones another post refers to (week-2/deep_bn.dev_nll);
    the experiment's own post may drop the slug (deep_bn.dev_nll)."""
    from generator.commands.show import show as do_show

    do_show(obj.root, tuple(names))


@main.command()
@click.option("-n", "--dry-run", is_flag=True, help="Only list what would be removed.")
@click.pass_obj
@_guard
def gc(obj: _Ctx, dry_run: bool):
    """Remove stored results that no post uses, and all quick results."""
    from generator.commands.gc import gc as do_gc

    removed = do_gc(obj.root, dry_run=dry_run)
    for path in removed:
        console.print(f"{'would remove' if dry_run else 'removed'} {_shown(path)}")
    console.print(f"{len(removed)} result folder{'s' * (len(removed) != 1)} "
                  f"{'to remove' if dry_run else 'removed'}")


@main.command()
@click.argument("title")
@click.option("--date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The post's date, YYYY-MM-DD (default: today).")
@click.option("--experiment", metavar="NAME", default=None,
              help="Also create experiments/NAME.py, a documented skeleton the post declares.")
@click.pass_obj
@_guard
def new(obj: _Ctx, title: str, date, experiment: str | None):
    """Start next week's post: posts/week-N.md, never overwriting a file.

    TITLE is the post's title, e.g. "Week 3: BatchNorm"; without a week number,
    "Week N: " is put in front, N being one more than the latest week."""
    from generator.commands.new import create

    for path in create(obj.root, title, date=date.date() if date else None, experiment=experiment):
        out.print(_relative(path), markup=False, highlight=False)
    if not (obj.root / "mkdocs.yml").is_file():
        console.print("note: this folder has no mkdocs.yml, so it does not build yet: "
                      "`journal init .` adds what a journal needs", highlight=False)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--title", default="Learning ML in public", show_default=True, help="The site's name.")
@click.option("--author", default=None, help="The name in the copyright line (default: git's user.name).")
@click.option("--github", metavar="USER/REPO", default=None,
              help="The GitHub repository the journal is published from: sets site_url and repo_url "
                   "(default: placeholders that deploy refuses).")
@click.option("--example", is_flag=True, help="Add this repository's weeks (posts, experiments and "
              "their committed results) instead of a first post.")
@click.option("--tool", metavar="REQUIREMENT", default=None,
              help="How the journal's pyproject.toml installs this tool, e.g. "
                   "'journal @ git+https://github.com/USER/journal@v0.1.0' (default: where this one "
                   "was installed from).")
@click.pass_obj
@_guard
def init(obj: _Ctx, directory: Path, title: str, author, github, example: bool, tool):
    """Start a journal in DIRECTORY that builds at once; in an existing journal, add what is missing.

    Never overwrites a file. A non-empty folder that is not a journal is refused."""
    from generator.commands.init import Settings, report
    from generator.commands.init import init as do_init

    root = directory if directory.is_absolute() else obj.root / directory
    made = do_init(root, Settings(title=" ".join(title.split()) or "Learning ML in public",
                                  author=author, github=github, example=example, tool=tool))
    report(made, github, _relative(made.root))


@main.command("diff")
@click.argument("rev", default="HEAD", required=False)
@click.pass_obj
@_guard
def diff_cmd(obj: _Ctx, rev: str):
    """Metric changes between the results the posts use now and at REV (default: HEAD)."""
    from generator.commands.diff import diff, report

    report(diff(obj.root, rev))


@main.command()
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="The port on 127.0.0.1 to serve on.")
@click.option("--engine", type=click.Choice(list(ENGINES)), default=None,
              help="The site engine (default: [tool.journal] engine in pyproject.toml, else material).")
@click.pass_obj
@_guard
def serve(obj: _Ctx, port: int, engine: str | None):
    """Preview the site on 127.0.0.1 and rebuild it on every edit.

    Prose edits show at once; an experiment whose code or params changed runs
    in the background, and the page reloads when it is done. Errors show in
    the terminal and as a banner on the page."""
    from generator.commands.serve import serve as do_serve

    do_serve(obj.root, port=port, engine=engine)


@main.command()
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option("--branch", default="gh-pages", show_default=True, help="The branch to write the site to.")
@click.option("-m", "--message", default=None,
              help="The commit message on that branch (default: the source commit and journal version).")
@click.option("--allow-placeholders", is_flag=True,
              help="Publish even while mkdocs.yml's site_url or repo_url are the placeholders.")
@click.pass_obj
@_guard
def deploy(obj: _Ctx, remote: str, branch: str, message: str | None, allow_placeholders: bool):
    """Build with --frozen and push site/ to a branch for GitHub Pages.

    Refuses when a result is stale, when results/, posts/ or experiments/
    have uncommitted changes, or while site_url or repo_url in mkdocs.yml are
    placeholders."""
    from generator.commands.deploy import deploy as do_deploy

    d = do_deploy(obj.root, remote=remote, branch=branch, message=message,
                  allow_placeholders=allow_placeholders)
    console.print(f"deployed {_shown(d.site)} (built from {d.commit}) to {d.remote}/{d.branch}")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)



def _shown(path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) + "/"
    except ValueError:
        return str(path)


if __name__ == "__main__":
    main()

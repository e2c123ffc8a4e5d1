"""The ``journal`` command. Exit codes are chosen here and nowhere else:
0 success, 1 an experiment failed (or results are stale under --frozen),
2 bad input, 130 interrupted."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from generator.errors import InputError, JournalError
from generator.progress import console, out


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
            console.print(str(e), markup=False, highlight=False)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            console.print("[bold red]interrupted[/]: stopped all experiments; finished results were kept")
            sys.exit(130)
        except Exception as e:  # noqa: BLE001 - a bug: say so briefly, details with --debug
            if debug:
                raise
            from generator.execute import Interrupted

            if isinstance(e, Interrupted):
                console.print("[bold red]interrupted[/]: stopped all experiments; "
                              "finished results were kept")
                sys.exit(130)
            console.print(f"[bold red]internal error:[/] {type(e).__name__}: {e}\n"
                          "Run again with --debug for the traceback.", markup=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "--root", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="The journal's folder (default: the current one).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="journal", prog_name="journal")
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
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


@main.command()
@_run_options
@click.option("--frozen", is_flag=True, help="Run nothing: fail if any result is stale or "
              "missing (what CI uses).")
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the site (default: site/).")
@click.pass_obj
@_guard
def build(obj: _Ctx, quick, rerun, rerun_all, jobs, keep_going, no_wait, quiet, frozen, site_dir):
    """Run stale experiments, render the posts and build the site."""
    from generator.build import Options
    from generator.build import build as do_build

    t0 = time.perf_counter()
    s = do_build(obj.root, Options(quick=quick, frozen=frozen, rerun=tuple(rerun),
                                   rerun_all=rerun_all, jobs=jobs or 0, keep_going=keep_going,
                                   wait=not no_wait, quiet=quiet, site_dir=site_dir))
    console.print(f"built {s.pages} post{'s' * (s.pages != 1)} into {_shown(s.site)} in "
                  f"{time.perf_counter() - t0:.1f}s: {s.ran} experiment{'s' * (s.ran != 1)} ran, "
                  f"{s.cached} from the cache")


@main.command("run")
@_run_options
@click.argument("names", nargs=-1)
@click.pass_obj
@_guard
def run_cmd(obj: _Ctx, names, quick, rerun, rerun_all, jobs, keep_going, no_wait, quiet):
    """Run stale experiments without building the site.

    NAMES (experiment names) force those experiments to run again."""
    from generator.build import Options
    from generator.build import build as do_build

    s = do_build(obj.root, Options(quick=quick, rerun=tuple(rerun) + tuple(names),
                                   rerun_all=rerun_all, jobs=jobs or 0, keep_going=keep_going,
                                   wait=not no_wait, quiet=quiet, site=False))
    console.print(f"{s.ran} ran, {s.cached} from the cache")


@main.command()
@click.option("--explain", is_flag=True, help="Say what changed for each stale result.")
@click.pass_obj
@_guard
def status(obj: _Ctx, explain: bool):
    """List every experiment of every post as fresh, stale, missing or corrupt."""
    from generator.build import status as do_status
    from generator.store import State

    colour = {State.FRESH: "green", State.STALE: "yellow", State.MISSING: "red", State.CORRUPT: "red"}
    lines = do_status(obj.root)
    for line in lines:
        r = line.run
        out.print(f"[{colour[line.state]}]{line.state.value:8}[/] {r.post}:{r.name:<14} "
                      f"{r.function} [dim]{r.short}[/]")
        if explain and line.reasons and line.state is not State.FRESH:
            for reason in line.reasons:
                out.print(f"           [dim]-[/] {reason}", markup=True, highlight=False)
    counts = {s: sum(1 for x in lines if x.state is s) for s in State}
    out.print(", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "no experiments")


@main.command()
@click.option("-n", "--dry-run", is_flag=True, help="Only list what would be removed.")
@click.pass_obj
@_guard
def gc(obj: _Ctx, dry_run: bool):
    """Remove stored results that no post uses, and all quick results."""
    from generator.build import gc as do_gc

    removed = do_gc(obj.root, dry_run=dry_run)
    for path in removed:
        console.print(f"{'would remove' if dry_run else 'removed'} {_shown(path)}")
    console.print(f"{len(removed)} result folder{'s' * (len(removed) != 1)} "
                  f"{'to remove' if dry_run else 'removed'}")


def _shown(path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) + "/"
    except ValueError:
        return str(path)


if __name__ == "__main__":
    main()

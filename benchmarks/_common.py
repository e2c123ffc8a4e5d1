"""Shared pieces of the benchmarks: generated journals, interleaved timing, reports.

Not a benchmark itself (the leading underscore); each ``bench_*.py`` imports it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/x.py` puts benchmarks/ first, not the repo
    sys.path.insert(1, str(REPO))

# Cheap, pure-Python experiments (no torch): what a generated journal declares.
CHEAP = '''
"""Cheap experiments for the benchmarks: pure Python, a few milliseconds each."""

import math


def curve(run, *, n: int = 20, scale: float = 1.0, tag: int = 0):
    """A short decaying 'loss' series and a few metrics."""
    run.total(n)
    for i in range(n):
        run.log(i, loss=scale * math.exp(-i / 5) + 0.01 * ((i * 7919 + tag) % 13))
    final = scale * math.exp(-(n - 1) / 5)
    return {"final": final, "area": sum(math.exp(-i / 5) for i in range(n)), "score": final,
            "tag": tag}


def table(run, *, rows: int = 5, tag: int = 0):
    """A few metrics and a text artifact."""
    vals = [((tag + 1) * (i + 3)) % 17 / 17 for i in range(rows)]
    run.artifact("rows", "\\n".join(f"{i}: {v:.3f}" for i, v in enumerate(vals)))
    mean = sum(vals) / rows
    return {"mean": mean, "best": min(vals), "rows": rows, "score": mean, "tag": tag}


def plot(run, *, points: int = 12, tag: int = 0):
    """A small matplotlib figure (light and dark PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(range(points), [(i * i + tag) % 11 for i in range(points)])
    run.figure("curve", fig)
    plt.close(fig)
    return {"points": points}
'''

# CPU-bound experiments for the parallelism benchmark.
BUSY = '''
"""CPU-bound experiments: pure-Python arithmetic, or torch matrix products."""


def spin(run, *, n: int = 1_000_000, tag: int = 0):
    """n rounds of an integer recurrence: a single core, fully busy."""
    run.total(n)
    x = tag + 1
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        if i % 200_000 == 0:
            run.progress(i)
    return {"x": x}


def matmul(run, *, n: int = 20, size: int = 512, tag: int = 0):
    """n products of two random size x size matrices with torch."""
    import torch

    g = torch.Generator().manual_seed(tag)
    a = torch.randn(size, size, generator=g)
    b = torch.randn(size, size, generator=g)
    run.total(n)
    for i in range(n):
        a = torch.tanh(a @ b)
        run.progress(i + 1)
    return {"norm": float(a.norm())}
'''


def site_files(dest: Path) -> None:
    """Copy the site's configuration and hand-written pages (not the generated ones)."""
    shutil.copy(REPO / "mkdocs.yml", dest / "mkdocs.yml")
    skip = {REPO / "docs" / "blog" / "posts", REPO / "docs" / ".generated"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if Path(folder, n) in skip}

    shutil.copytree(REPO / "docs", dest / "docs", ignore=ignore, dirs_exist_ok=True)
    if (REPO / "overrides").is_dir():   # the theme's template overrides (mkdocs.yml's custom_dir)
        shutil.copytree(REPO / "overrides", dest / "overrides", dirs_exist_ok=True)


def new_journal(dest: Path, modules: dict[str, str]) -> Path:
    """An empty journal in ``dest``: mkdocs.yml, docs/, posts/ and an experiments package."""
    dest.mkdir(parents=True, exist_ok=True)
    site_files(dest)
    (dest / "posts").mkdir(exist_ok=True)
    pkg = dest / "experiments"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    for name, text in modules.items():
        (pkg / f"{name}.py").write_text(text)
    return dest


def write_post(root: Path, slug: str, title: str, date: str, experiments: dict[str, str],
               body: str, headline: str = "") -> None:
    """A post; ``experiments`` maps a name to its YAML spec on one line ({run: ..., params: ...})."""
    fm = [f'title: "{title}"', f"date: {date}", "categories: [Benchmarks]"]
    if headline:
        fm.append(f"headline: [{headline}]")
    fm.append("experiments:")
    fm += [f"  {name}: {spec}" for name, spec in experiments.items()]
    text = "---\n" + "\n".join(fm) + "\n---\n" + textwrap.dedent(body).lstrip("\n")
    (root / "posts" / f"{slug}.md").write_text(text, encoding="utf-8")


def cheap_post(root: Path, i: int, figure: bool = False, chart: bool = True) -> None:
    """Post number ``i`` of a generated journal: three cheap experiments with their own params.

    The body uses the common kinds of reference: metrics, a parameter, a table, a text
    artifact, (with ``chart``) a chart of a logged series and (with ``figure``) a figure.
    """
    exps = {
        "loss": f"{{run: cheap.curve, params: {{n: {20 + i % 30}, tag: {i}}}}}",
        "rows": f"{{run: cheap.table, params: {{rows: {3 + i % 5}, tag: {i}}}}}",
    }
    if figure:
        exps["pic"] = f"{{run: cheap.plot, params: {{points: {8 + i % 8}, tag: {i}}}}}"
    else:
        exps["base"] = f"{{run: cheap.curve, params: {{n: 10, scale: {1 + i % 7}, tag: {i}}}}}"
    day = 1 + i % 28
    month = 1 + (i // 28) % 12
    year = 2020 + i // (28 * 12)
    second = ("{{ figure pic.curve \"A small figure\" }}" if figure
              else "The baseline ended at {{ base.final:.4f }}.")
    chart_ref = f'{{{{ chart loss.loss "The loss of post {i}" }}}}' if chart else "No chart today."
    body = f"""
    # Post {i}

    Some prose about post {i}. The loss reached {{{{ loss.final:.4f }}}} after
    {{{{ param loss.n }}}} steps; the mean of the rows is {{{{ rows.mean:.3f }}}}.

    {{{{ table loss rows : score:.3f tag }}}}

    {chart_ref}

    {second}

    {{{{ text rows.rows }}}}

    More words follow, so the page has something to index. """ + " ".join(
        f"word{(i * 31 + k) % 97}" for k in range(120)) + "\n"
    write_post(root, f"post-{i:04d}", f"Post {i}", f"{year}-{month:02d}-{day:02d}", exps,
               textwrap.dedent(body), headline="loss.final:.3f")


def cheap_journal(dest: Path, posts: int, figures: int = 0, chart_every: int = 1) -> Path:
    """A journal of ``posts`` posts with three cheap experiments each (the first ``figures``
    posts draw a matplotlib figure instead of the second curve; every ``chart_every``-th
    post has a chart)."""
    new_journal(dest, {"cheap": CHEAP})
    for i in range(posts):
        cheap_post(dest, i, figure=i < figures, chart=i % chart_every == 0)
    return dest


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"journal-bench-{prefix}-"))


# -- running ---------------------------------------------------------------------

def cli(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``journal -C root ARGS`` in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-m", "generator", "-C", str(root), *args],
                          capture_output=True, text=True, cwd=REPO)
    if check and proc.returncode != 0:
        raise SystemExit(f"journal {' '.join(args)} failed ({proc.returncode}):\n"
                         f"{proc.stdout}\n{proc.stderr}")
    return proc


def mkdocs_cli(root: Path, site_dir: str | None = None) -> subprocess.CompletedProcess:
    """``mkdocs build -q [-d SITE_DIR]`` in the journal's folder, in a fresh interpreter."""
    extra = ["-d", site_dir] if site_dir else []
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", *extra], cwd=root,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"mkdocs build failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleave(sides: dict[str, Callable[[], object]], repeat: int, warmup: int = 1,
               label: str = "") -> dict[str, list[float]]:
    """Time each side ``repeat`` times, alternating A B A B ... (B A on odd rounds, so
    neither side always runs second); ``warmup`` untimed rounds first."""
    names = list(sides)
    for _ in range(warmup):
        for name in names:
            sides[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeat):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(timed(sides[name]))
        if label:
            shown = "  ".join(f"{n} {times[n][-1]:.3f}s" for n in names)
            print(f"  {label} round {r + 1}/{repeat}: {shown}  (load {os.getloadavg()[0]:.2f})",
                  flush=True)
    return times


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    return f"median {med(xs):.3f}s (min {min(xs):.3f}, max {max(xs):.3f}, n={len(xs)})"


def ratio_line(name: str, num: list[float], den: list[float], target: float | None = None,
               at_least: bool = False) -> str:
    """Median ratio, and the median of the per-round ratios (robust to a slow round)."""
    r = med(num) / med(den)
    paired = med([a / b for a, b in zip(num, den)])
    verdict = ""
    if target is not None:
        ok = r >= target if at_least else r <= target
        verdict = f"  target {'≥' if at_least else '≤'} {target:.2f}×: {'MET' if ok else 'MISSED'}"
    return f"{name}: {r:.3f}× (per-round median {paired:.3f}×){verdict}"


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions (and posts): a smoke run")
    p.add_argument("--repeat", type=int, default=None, help="timed rounds per side")
    p.add_argument("--keep", action="store_true", help="keep the temporary journal and say where")
    return p


def header(title: str) -> None:
    print(f"== {title}")
    print(f"   python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


def cleanup(path: Path, keep: bool) -> None:
    if keep:
        print(f"kept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


# -- warm rebuilds: the journal vs mkdocs alone ------------------------------------

def clear_generator_caches() -> None:
    """Forget what generator/ memoised (parsed code, file hashes, package versions), so an
    in-process build pays what a fresh `journal build` process pays."""
    for name, mod in list(sys.modules.items()):
        if name == "generator" or name.startswith("generator."):
            for obj in list(vars(mod).values()):
                clear = getattr(obj, "cache_clear", None)
                if callable(clear):
                    clear()


class Phases:
    """Times the steps of generator.commands.build.build by wrapping the names it calls.

    Only names that exist are wrapped, so a refactored build.py still runs (with fewer
    phases shown)."""

    NAMES = ("read_posts", "plan", "check", "render", "progress", "weeks", "write", "build_site")

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.rounds: list[dict[str, float]] = []
        self._saved: list[tuple[object, str, object]] = []

    def _wrap(self, owner, attr: str, label: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            return
        totals = self.totals

        def timed_call(*a, **k):
            t0 = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - t0

        self._saved.append((owner, attr, original))
        setattr(owner, attr, timed_call)

    HOMES = {"read_posts": "generator.source.posts", "plan": "generator.plan.planner",
             "check": "generator.render.check", "render": "generator.render.page",
             "progress": "generator.render.progress_page", "weeks": "generator.render.home",
             "write": "generator.render.write", "build_site": "generator.site.mkdocs"}

    def __enter__(self) -> Phases:
        import importlib

        import generator.commands.build as b
        import generator.plan.freshness as s

        for name in self.NAMES:   # where build.py imports it: at the top, or when it needs it
            owner = b if hasattr(b, name) else importlib.import_module(self.HOMES[name])
            self._wrap(owner, name, name)
        self._wrap(s, "state", "store.state")
        return self

    def __exit__(self, *exc) -> None:
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)
        self._saved.clear()

    def lap(self) -> None:
        self.rounds.append(dict(self.totals))
        self.totals.clear()

    def report(self, total: list[float]) -> str:
        names = [n for n in (*self.NAMES, "store.state") if any(n in r for r in self.rounds)]
        lines = []
        for n in names:
            lines.append(f"    {n:12} {med([r.get(n, 0.0) for r in self.rounds]):8.3f}s")
        own = [t - r.get("build_site", 0.0) for t, r in zip(total, self.rounds)]
        lines.append(f"    {'not mkdocs':12} {med(own):8.3f}s  (the whole build less build_site)")
        return "\n".join(lines)


def warm_compare(root: Path, repeat: int, *, subprocesses: bool, label: str,
                 phases: bool = True) -> dict[str, list[float]]:
    """Interleaved warm `journal build` vs mkdocs alone on the same rendered docs.

    In-process: generator.build.build(root, Options(quiet=True)) (with generator's caches
    cleared each time) vs generator.site.build_site(root). Subprocesses: `journal build -q`
    vs `mkdocs build -q`, each in a fresh interpreter."""
    from generator.commands.build import Options, build
    from generator.site import build_site

    if subprocesses:
        sides = {"journal": lambda: cli(root, "build", "-q"), "mkdocs": lambda: mkdocs_cli(root)}
        return interleave(sides, repeat, label=label)

    tracker = Phases() if phases else None

    def journal() -> None:
        clear_generator_caches()
        if tracker is None:
            s = build(root, Options(quiet=True))
        else:
            with tracker:
                s = build(root, Options(quiet=True))
        if s.ran:
            raise SystemExit(f"a warm build ran {s.ran} experiments: the store was not warm")

    def mkdocs() -> None:
        build_site(root)

    journal()  # warm-up (outside the phase record)
    if tracker is not None:
        tracker.totals.clear()
    times: dict[str, list[float]] = {"journal": [], "mkdocs": []}
    for r in range(repeat):
        for name in (("journal", "mkdocs") if r % 2 == 0 else ("mkdocs", "journal")):
            times[name].append(timed(journal if name == "journal" else mkdocs))
            if name == "journal" and tracker is not None:
                tracker.lap()
        print(f"  {label} round {r + 1}/{repeat}: journal {times['journal'][-1]:.3f}s  "
              f"mkdocs {times['mkdocs'][-1]:.3f}s  (load {os.getloadavg()[0]:.2f})", flush=True)
    if tracker is not None:
        times["_phases"] = tracker  # type: ignore[assignment]
    return times


def profile_build(root: Path, top: int = 25) -> None:
    """cProfile one warm in-process build; print the heaviest functions of generator/."""
    import cProfile
    import io
    import pstats

    from generator.commands.build import Options, build

    clear_generator_caches()
    prof = cProfile.Profile()
    prof.enable()
    build(root, Options(quiet=True))
    prof.disable()
    for sort in ("cumulative", "tottime"):
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats(sort).print_stats(r"generator/", top)
        print(f"\n-- profile of one warm build, generator/ functions by {sort} --")
        print("\n".join(line for line in buf.getvalue().splitlines()
                        if line.strip() and not line.startswith(("   Ordered", "   List"))))

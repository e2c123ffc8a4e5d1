"""Site engines: the journal's warm rebuild with Material for MkDocs and with Zensical, each
against its engine alone on the same rendered docs; Zensical against plain mkdocs; and
`journal serve`'s prose edit -> updated page, for both engines.

The journal: the shipped one (a copy, as in bench_warm_rebuild.py) when every result is
fresh, else a generated one; with --many N, a generated journal of N posts x 3 cached
experiments (as in bench_many_posts.py; --dir keeps and reuses it).

Each engine builds its own copy of the journal (a warm rebuild is one with the engine the
last build used: the rendered docs differ a little between engines, so switching engines
renders the posts again). Warm rebuilds, in interleaved rounds in this process (generator's
memo caches cleared before each journal build, as in a fresh process):
  journal+material   generator.build.build(root, Options(engine="material"))  -> site-m/
  mkdocs alone       generator.site.build_site(root): mkdocs' build API       -> site-m/
  journal+zensical   generator.build.build(twin, Options(engine="zensical"))  -> site/
  zensical alone     zensical.build("mkdocs.yml") in the twin, its public function, as
                     the journal calls it                                     -> site/
(Zensical writes only where mkdocs.yml says, or through a copy; mkdocs takes any folder.)
With --cli the same four as fresh interpreters: `journal build -q [--engine zensical]`,
`mkdocs build -q`, `zensical build --strict`.

Serve (--serve, the shipped or generated journal only): `journal serve --engine E` in a
subprocess; each round appends a sentence to a post and measures, from the moment the file
is written, (a) until the long-polled /livereload/ answers (an open page starts reloading)
and (b) until a GET of the post's page holds the sentence.

Targets: journal+engine <= 1.05x the engine alone, for each engine; journal+zensical <= 0.6x
mkdocs alone on the shipped journal, <= 0.4x on the 300-post journal; a prose edit shown
in under 0.5 s.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import _common as c

ENGINE_TARGET = 1.05
ZENSICAL_SHIPPED, ZENSICAL_MANY = 0.6, 0.4
SERVE_TARGET_S = 0.5
FAST: dict[str, int] = {}     # in-process journal builds that took the fast path, per engine
BUILDS: dict[str, int] = {}


def journal_root(args) -> tuple[Path, str, bool]:
    """(root, kind, keep): the journal to measure."""
    if args.many:
        from bench_many_posts import fill, fresh

        root = args.dir.resolve() if args.dir else c.temp_dir("engines-many")
        if args.dir and fresh(root, args.many):
            print(f"reusing {root}: {args.many} posts, every result fresh")
        else:
            c.cheap_journal(root, args.many, chart_every=3)
            fill(root, "fork", args.jobs)
        return root, f"{args.many} generated posts", bool(args.dir)
    from bench_warm_rebuild import generated_journal, shipped_journal

    root = shipped_journal()
    return (root, "shipped", False) if root else (generated_journal(8), "8 generated posts", False)


def rebuilds(root: Path, twin: Path, repeat: int, cli: bool) -> dict[str, list[float]]:
    import zensical

    from generator.commands.build import Options, build
    from generator.site.zensical import _call


    def journal(where: Path, engine: str, site_dir: Path | None = None):
        def run() -> None:
            c.clear_generator_caches()
            s = build(where, Options(quiet=True, engine=engine, site_dir=site_dir))
            if s.ran:
                raise SystemExit(f"a warm build ran {s.ran} experiments: the store was not warm")
            FAST[engine] = FAST.get(engine, 0) + s.fast
            BUILDS[engine] = BUILDS.get(engine, 0) + 1
        return run

    def zensical_alone() -> None:
        cwd = os.getcwd()
        os.chdir(twin)
        try:
            _call(zensical.build, str(twin / "mkdocs.yml"), {"clean": False, "strict": True})
        finally:
            os.chdir(cwd)

    def zensical_cli() -> None:
        subprocess.run([sys.executable, "-m", "zensical", "build", "--strict"],
                       cwd=twin, check=True, capture_output=True)

    if cli:
        sides = {"journal+material": lambda: c.cli(root, "build", "-q", "--site-dir", str(root / "site-m")),
                 "mkdocs alone": lambda: c.mkdocs_cli(root, "site-m"),
                 "journal+zensical": lambda: c.cli(twin, "build", "-q", "--engine", "zensical"),
                 "zensical alone": zensical_cli}
    else:
        sides = {"journal+material": journal(root, "material", root / "site-m"),
                 "mkdocs alone": build_site_of(root),
                 "journal+zensical": journal(twin, "zensical"),
                 "zensical alone": zensical_alone}
    return _rounds(sides, repeat, label="subprocess" if cli else "in-process")


def _rounds(sides: dict, repeat: int, label: str) -> dict[str, list[float]]:
    """Interleaved rounds of two pairs, (journal+material, mkdocs alone) and (journal+zensical,
    zensical alone): the pairs' order, and the order within each pair, swapped every round
    (each engine has its own copy of the journal, so either side may go first)."""
    pairs = [("journal+material", "mkdocs alone"), ("journal+zensical", "zensical alone")]
    for pair in pairs:                       # warm-up, untimed
        for name in pair:
            sides[name]()
    times: dict[str, list[float]] = {n: [] for pair in pairs for n in pair}
    for r in range(repeat):
        for pair in (pairs if r % 2 == 0 else pairs[::-1]):
            for name in (pair if r % 2 == 0 else pair[::-1]):
                times[name].append(c.timed(sides[name]))
        shown = "  ".join(f"{n} {t[-1]:.3f}s" for n, t in times.items())
        print(f"  {label} round {r + 1}/{repeat}: {shown}  (load {os.getloadavg()[0]:.2f})", flush=True)
    return times


def build_site_of(root: Path):
    from generator.site import build_site

    return lambda: build_site(root, site_dir=root / "site-m")


# -- serve ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _long_poll(url: str, answered: list[float]) -> None:
    _get(url, 60)
    answered.append(time.monotonic())


def serve_latency(root: Path, engine: str, rounds: int) -> dict[str, list[float]]:
    from generator.site import engine as site_engine

    post = sorted((root / "posts").glob("*.md"))[0]
    slug = post.stem
    site = next(s for s in (root / "site", root / "site-m") if s.is_dir())
    pages = list((site / "blog").rglob(f"{slug}/index.html"))
    if not pages:
        raise SystemExit(f"no built page for {slug}")
    mount = site_engine(engine).site_path(root)
    port = _free_port()
    base = f"http://127.0.0.1:{port}{mount}"
    url = base + pages[0].parent.relative_to(site).as_posix() + "/"
    server = subprocess.Popen([sys.executable, "-m", "generator", "-C", str(root), "serve", "--port",
                               str(port), "--engine", engine], cwd=c.REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    original = post.read_text(encoding="utf-8")
    out: dict[str, list[float]] = {"reload": [], "page": []}
    try:
        deadline = time.monotonic() + 120
        while "livereload" not in _get(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"journal serve --engine {engine} did not start")
            time.sleep(0.2)
        for i in range(rounds + 1):              # the first round warms up, untimed
            text = _get(url)
            epoch = re.search(r"var epoch=(\d+)", text).group(1)
            answered: list[float] = []
            poll = threading.Thread(target=_long_poll, args=(f"{base}livereload/{epoch}", answered))
            poll.start()
            time.sleep(0.3)                          # the long poll is waiting
            marker = f"Benchmark sentence {engine} {i} {time.time_ns()}."
            post.write_text(original + f"\n{marker}\n", encoding="utf-8")
            t0 = time.monotonic()
            while marker not in _get(url):
                if time.monotonic() - t0 > 60:
                    raise SystemExit(f"{engine}: the edit did not show within 60 s")
                time.sleep(0.01)
            shown = time.monotonic() - t0
            poll.join(60)
            if i:
                out["page"].append(shown)
                out["reload"].append(answered[0] - t0 if answered else float("nan"))
                print(f"  serve {engine} round {i}/{rounds}: reload signalled {out['reload'][-1]:.3f}s, "
                      f"page updated {shown:.3f}s  (load {os.getloadavg()[0]:.2f})", flush=True)
            time.sleep(0.5)
    finally:
        post.write_text(original, encoding="utf-8")
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    return out


def main() -> None:
    p = c.parser(__doc__)
    p.add_argument("--many", type=int, default=0, help="a generated journal of this many posts")
    p.add_argument("--dir", type=Path, default=None, help="with --many: keep the journal here")
    p.add_argument("--jobs", type=int, default=2, help="with --many: workers filling the cache")
    p.add_argument("--cli", action="store_true", help="also compare the four as subprocesses")
    p.add_argument("--serve", action="store_true", help="also measure journal serve, both engines")
    args = p.parse_args()
    repeat = args.repeat or (3 if args.quick else 7)
    c.header("site engines: Material for MkDocs and Zensical")
    root, kind, keep = journal_root(args)
    twin = root.with_name(root.name + "-zensical")
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(root, twin, symlinks=True)
    try:
        from generator.commands.build import Options, build

        for where, engine, site_dir in ((root, "material", root / "site-m"), (twin, "zensical", None)):
            t0 = time.perf_counter()
            s = build(where, Options(quiet=True, engine=engine, site_dir=site_dir))
            print(f"first build with {engine}: {time.perf_counter() - t0:.2f}s, {s.pages} pages, "
                  f"{s.cached} cached, {s.ran} ran", flush=True)
        results = [("in-process", rebuilds(root, twin, repeat, cli=False))]
        if args.cli:
            results.append(("subprocess", rebuilds(root, twin, repeat, cli=True)))
        serve = {e: serve_latency(w, e, repeat) for w, e in ((root, "material"), (twin, "zensical"))} \
            if args.serve else {}
        target = ZENSICAL_MANY if args.many else ZENSICAL_SHIPPED
        print(f"\njournal: {kind}, {s.pages} posts, {s.cached} results")
        print("in-process journal builds that took the fast path (nothing changed since the last): "
              + ", ".join(f"{e} {FAST.get(e, 0)} of {n}" for e, n in BUILDS.items()))
        for name, t in results:
            print(f"warm rebuild, {name}:")
            for side, times in t.items():
                print(f"  {side:17} {c.spread(times)}")
            print("  " + c.ratio_line("journal+material / mkdocs alone", t["journal+material"],
                                      t["mkdocs alone"], ENGINE_TARGET))
            print("  " + c.ratio_line("journal+zensical / zensical alone", t["journal+zensical"],
                                      t["zensical alone"], ENGINE_TARGET))
            print("  " + c.ratio_line("journal+zensical / mkdocs alone", t["journal+zensical"],
                                      t["mkdocs alone"], target))
        for engine, t in serve.items():
            m = c.med(t["page"])
            print(f"serve, {engine}: reload signalled {c.spread(t['reload'])}")
            print(f"  page updated {c.spread(t['page'])}  target < {SERVE_TARGET_S}s: "
                  f"{'MET' if m < SERVE_TARGET_S else 'MISSED'}")
    finally:
        shutil.rmtree(twin, ignore_errors=True)
        if keep:
            print(f"kept {root}")
        else:
            c.cleanup(root, args.keep)


if __name__ == "__main__":
    sys.exit(main())

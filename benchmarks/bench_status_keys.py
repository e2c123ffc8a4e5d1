"""`journal status` on 900 experiments with the AST keys (key format 2): all fresh, and all
pinned after a shared module changed (every line frozen, each explained), side by side.

Target: each under 2 s in a fresh interpreter (what a user waits for).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402
from bench_many_posts import fill  # noqa: E402


def main() -> None:
    p = c.parser(__doc__)
    p.add_argument("--posts", type=int, default=None, help="posts x 3 experiments (default 300; --quick: 60)")
    args = p.parse_args()
    posts = args.posts or (60 if args.quick else 300)
    repeat = args.repeat or (3 if args.quick else 5)
    c.header(f"`journal status` on {posts} posts x 3 experiments")
    fresh = c.temp_dir("status")
    pinned = fresh.parent / (fresh.name + "-pinned")
    try:
        t0 = time.perf_counter()
        c.cheap_journal(fresh, posts)
        fill(fresh, "fork", 2)
        print(f"made and filled in {time.perf_counter() - t0:.1f}s", flush=True)
        shutil.copytree(fresh, pinned)
        for post in (pinned / "posts").glob("*.md"):
            text = post.read_text()
            post.write_text(text.replace("\ndate:", "\nfreeze: true\ndate:", 1))
        cheap = pinned / "experiments" / "cheap.py"
        cheap.write_text(cheap.read_text() + "\n\nCHANGED = 1\n")  # a code change every key sees

        out = c.cli(fresh, "status").stdout.strip().splitlines()
        print(f"fresh journal: {out[-1]!r}")
        out = c.cli(pinned, "status", "--explain").stdout.strip().splitlines()
        print(f"pinned journal after a code change: {out[-1]!r}")
        times = c.interleave({"fresh": lambda: c.cli(fresh, "status"),
                              "frozen": lambda: c.cli(pinned, "status", "--explain")},
                             repeat, label="status")
        for name, xs in times.items():
            verdict = "MET" if c.med(xs) < 2 else "MISSED"
            print(f"  {name:7} {c.spread(xs)}  target < 2 s: {verdict}")
        print(c.ratio_line("frozen (explained) / fresh", times["frozen"], times["fresh"]))
    finally:
        c.cleanup(fresh, args.keep)
        c.cleanup(pinned, args.keep)


if __name__ == "__main__":
    main()

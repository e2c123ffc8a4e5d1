"""One stale makemore MLP through `journal run` (one thread by default) vs the same training
loop called directly in a plain process at one torch thread, side by side.

Target: the journal's throughput is at least 0.97x the raw loop's (raw time / journal time).
The issue's figure is for 200,000 steps (`--steps 200000`, minutes per round on a quiet
machine); the default here is 20,000 so a run fits a busy one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

RAW = """
import sys, tempfile
from pathlib import Path
import torch
torch.set_num_threads(1)
root = sys.argv[1]
sys.path.insert(0, root)
from generator.handle import RunHandle
from experiments.makemore.neural import mlp
handle = RunHandle(Path(tempfile.mkdtemp()), seed=1337, device="cpu", root=root)
handle.seed_everything()
mlp(handle, steps=int(sys.argv[2]))
"""


def main() -> None:
    p = c.parser(__doc__)
    p.add_argument("--steps", type=int, default=20_000, help="training steps (issue: 200000)")
    args = p.parse_args()
    steps = 2_000 if args.quick else args.steps
    repeat = args.repeat or (2 if args.quick else 3)
    c.header(f"makemore.mlp, {steps} steps: `journal run` vs the raw loop at one thread")
    root = c.temp_dir("threads")
    try:
        shutil.copytree(c.REPO / "experiments", root / "experiments",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (root / "posts").mkdir()
        (root / "posts" / "week-1.md").write_text(textwrap.dedent(f"""\
            ---
            title: "MLP"
            date: 2024-07-04
            experiments:
              mlp: {{run: makemore.mlp, params: {{steps: {steps}}}, seed: 1337}}
            ---
            {{{{ mlp.dev_nll }}}}
            """))
        raw = root / "raw.py"
        raw.write_text(RAW)
        sides = {
            "journal": lambda: c.cli(root, "run", "-q", "--rerun", "mlp"),
            "raw": lambda: subprocess.run([sys.executable, str(raw), str(root), str(steps)],
                                          check=True, capture_output=True, cwd=c.REPO),
        }
        times = c.interleave(sides, repeat, warmup=0, label="mlp")
        for name, xs in times.items():
            print(f"  {name:8} {c.spread(xs)}")
        print(c.ratio_line("throughput, journal / raw (= raw time / journal time)",
                           times["raw"], times["journal"], target=0.97, at_least=True))
    finally:
        c.cleanup(root, args.keep)


if __name__ == "__main__":
    main()

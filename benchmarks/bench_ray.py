"""Ray backend vs local backend: 4 CPU-bound experiments, a local 2-CPU Ray cluster vs --jobs 2.

A Ray head is started for the run (`ray start --head --num-cpus 2 --num-gpus 0 --block`, not timed)
and stopped at the end. Each round runs one post's four experiments with `rerun_all`
through generator.build.build(site=False): once with the local backend and --jobs 2,
once with `backend="ray"` against that head (what `journal run --rerun-all --address
HOST:PORT` does, less the interpreter start). A Ray round pays everything a user pays
per build: connecting (`ray.init`, shipping the journal, cached after the first
round), starting the job's Ray workers, one task per experiment, the results packed
and sent back.

Two journals, the sides alternating in each:

  busy     4 x a pure-Python loop calibrated to about --seconds (3.0 s; --quick 1.5 s)
           of one core each: the wall-time ratio ray / local (target <= 1.25x)
  trivial  4 x a 20-step experiment that takes milliseconds: the fixed cost of an
           experiment on each backend, wall time / 4 (target for Ray <= 1.5 s)

Also printed: the extra wall time per experiment on the busy journal,
(ray - local) / 4, and how long connecting to the cluster took in each Ray round.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c
from bench_parallel import _calibrate

WALL_TARGET = 1.25
OVERHEAD_TARGET = 1.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_head(cpus: int = 2) -> tuple[subprocess.Popen, str, Path]:
    temp = Path(tempfile.mkdtemp(prefix="rb", dir="/tmp"))  # Ray's socket paths must stay short
    port = _free_port()
    log = temp / "head.log"
    ray = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    head = subprocess.Popen([ray, "start", "--head", "--port", str(port), "--num-cpus", str(cpus), "--num-gpus", "0",
                             "--disable-usage-stats", "--include-dashboard=false",
                             "--dashboard-agent-listen-port", str(_free_port()),
                             "--temp-dir", str(temp), "--block"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    while "Ray runtime started" not in log.read_text():
        if head.poll() is not None or time.monotonic() - t0 > 180:
            raise SystemExit("ray start failed:\n" + log.read_text())
        time.sleep(0.25)
    print(f"ray head on 127.0.0.1:{port} ({cpus} CPUs), started in {time.monotonic() - t0:.1f}s")
    return head, f"127.0.0.1:{port}", temp


def stop_head(head: subprocess.Popen, temp: Path) -> None:
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
    shutil.rmtree(temp, ignore_errors=True)


def main() -> None:
    p = c.parser(__doc__)
    p.add_argument("--seconds", type=float, default=None, help="target time of one busy experiment")
    args = p.parse_args()
    repeat = args.repeat or (2 if args.quick else 3)
    seconds = args.seconds or (1.5 if args.quick else 3.0)
    c.header("Ray backend (local 2-CPU cluster) vs local backend --jobs 2, 4 experiments")
    n = _calibrate(seconds)
    busy = c.new_journal(c.temp_dir("ray-busy"), {"busy": c.BUSY})
    c.write_post(busy, "four", "Four", "2024-07-04",
                 {f"e{i}": f"{{run: busy.spin, params: {{n: {n}, tag: {i}}}}}" for i in range(4)},
                 "# Four\n\n" + " ".join(f"{{{{ e{i}.x }}}}" for i in range(4)) + "\n")
    trivial = c.new_journal(c.temp_dir("ray-trivial"), {"cheap": c.CHEAP})
    c.write_post(trivial, "four", "Four", "2024-07-04",
                 {f"t{i}": f"{{run: cheap.curve, params: {{n: 20, tag: {i}}}}}" for i in range(4)},
                 "# Four\n\n" + " ".join(f"{{{{ t{i}.final }}}}" for i in range(4)) + "\n")
    print(f"busy: 4 x busy.spin with n={n:,} (about {seconds:.1f}s of one core each); "
          "trivial: 4 x cheap.curve(n=20)")
    head, address, temp = start_head()
    try:
        from generator.commands.build import Options, build
        from generator.run.backends.ray import RayBackend

        connects: list[float] = []    # ray.init, per Ray build
        first_start: list[float] = []  # connected -> the first task reports it started
        original_connect, original_poll = RayBackend._connect, RayBackend.poll

        def timed_connect(self) -> None:
            if self.connected:
                return
            t0 = time.perf_counter()
            original_connect(self)
            self._t_connected = time.perf_counter()
            connects.append(self._t_connected - t0)

        def timed_poll(self, timeout: float):
            events = original_poll(self, timeout)
            if events and not getattr(self, "_seen_start", False):
                self._seen_start = True
                first_start.append(time.perf_counter() - self._t_connected)
            return events

        RayBackend._connect, RayBackend.poll = timed_connect, timed_poll

        def side(root: Path, backend: str):
            def go() -> None:
                s = build(root, Options(rerun_all=True, site=False, quiet=True, jobs=2,
                                        backend=backend, address=address if backend == "ray" else None))
                if s.ran != 4:
                    raise SystemExit(f"expected 4 runs, got {s.ran} (failed: {len(s.failed)})")
            return go

        for root in (busy, trivial):  # the first, cold runs (the journal is shipped once)
            t0 = time.perf_counter()
            side(root, "ray")()
            print(f"first cold run on Ray ({root.name}): {time.perf_counter() - t0:.2f}s")
        connects.clear()
        first_start.clear()
        times = c.interleave({"busy local": side(busy, "local"), "busy ray": side(busy, "ray"),
                              "trivial local": side(trivial, "local"),
                              "trivial ray": side(trivial, "ray")},
                             repeat, warmup=0, label="ray")
        print()
        for name, ts in times.items():
            print(f"{name:14} {c.spread(ts)}")
        print(f"connecting to the cluster (ray.init), per Ray build: {c.spread(connects)}")
        print(f"connected -> first task started (the build's Ray workers starting): "
              f"{c.spread(first_start)}")
        print(c.ratio_line("busy: ray / local wall time", times["busy ray"], times["busy local"],
                           WALL_TARGET))
        extra = [(r - lo) / 4 for r, lo in zip(times["busy ray"], times["busy local"])]
        print(f"busy: extra wall time per experiment on Ray, (ray - local) / 4: "
              f"median {c.med(extra):.2f}s (rounds: {', '.join(f'{x:.2f}' for x in extra)})")
        per = [t / 4 for t in times["trivial ray"]]
        local_per = [t / 4 for t in times["trivial local"]]
        ok = c.med(per) <= OVERHEAD_TARGET
        print(f"trivial: fixed cost per experiment, wall / 4: ray median {c.med(per):.2f}s, local "
              f"median {c.med(local_per):.2f}s  target ray <= {OVERHEAD_TARGET}s: "
              f"{'MET' if ok else 'MISSED'}")
    finally:
        stop_head(head, temp)
        c.cleanup(busy, args.keep)
        c.cleanup(trivial, args.keep)


if __name__ == "__main__":
    sys.exit(main())

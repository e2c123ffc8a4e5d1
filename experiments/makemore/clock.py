"""How long a model took to train: wall-clock and CPU seconds.

On a machine shared with other work the wall-clock time grows with the load;
the CPU time (this process's, all threads) barely does, so the two together say
what a model costs and how busy the machine was.
"""

from __future__ import annotations

import time


class Stopwatch:
    """Started when made; ``read()`` gives ``{"wall_s": ..., "cpu_s": ...}`` since then."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def read(self) -> dict[str, float]:
        return {"wall_s": time.perf_counter() - self._wall, "cpu_s": time.process_time() - self._cpu}

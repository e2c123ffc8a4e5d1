"""Tiny made-up word lists and run handles for the makemore tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

from generator.handle import RunHandle

SYLLABLES = ["ba", "del", "ko", "ma", "ne", "lo", "da", "kel", "bo", "na", "em", "ol"]
V = 10  # '.' and the nine letters of SYLLABLES: a b d e k l m n o


def made_up_words(count: int = 200, seed: int = 0) -> list[str]:
    """Word-like strings over the nine letters of SYLLABLES, sorted and without repeats."""
    rng = random.Random(seed)
    return sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(count)})


def write_words(root: Path, count: int = 300, name: str = "words.txt") -> Path:
    """A word file of ``made_up_words(count)`` under ``root``, one word per line."""
    path = root / name
    path.write_text("\n".join(made_up_words(count)) + "\n", encoding="utf-8")
    return path


def run_handle(root: Path, name: str = "out", seed: int = 0) -> RunHandle:
    return RunHandle(root / name, seed=seed, root=root)


def read_series(root: Path, name: str = "out") -> dict[str, list[list[float]]]:
    return json.loads((root / name / "series.json").read_text())

"""The run handle: the one object an experiment gets from the journal.

An experiment is a plain function ``def train(run, *, steps=100, ...)``. Through
``run`` it logs scalar series, reports final metrics, saves figures and text
artifacts, reads data files, and learns its seed and device. Everything it
produces lands in one folder (``run.out_dir``) that the executor moves into the
results store only when the run finished cleanly.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ValueError(
            f"{kind} name {name!r} is not allowed: use letters, digits, '_', '-', '.' "
            "(at most 64 characters, no '..')"
        )
    return name


def _finite(name: str, value: Any) -> float | int | str | bool:
    """Metric values are numbers (NaN and ±inf are kept as such until ``finish``), bools or strings."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    try:
        import numbers

        if isinstance(value, numbers.Integral):
            return int(value)
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"metric {name!r} must be a number, bool or string, not {type(value).__name__}"
        ) from None


class RunHandle:
    """What an experiment function receives as its first argument."""

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        seed: int = 0,
        device: str = "cpu",
        quick: bool = False,
        root: str | os.PathLike | None = None,
        on_progress: Callable[[int, int | None], None] | None = None,
        checkpoints: str | os.PathLike | None = None,
        key: str = "",
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.seed = int(seed)
        self.device = device
        self.quick = quick
        self.root = Path(root) if root is not None else Path.cwd()
        self._on_progress = on_progress
        self._metrics: dict[str, Any] = {}
        self._series: dict[str, list[list[float]]] = {}
        self._figures: list[str] = []
        self._artifacts: list[str] = []
        self._reads: dict[str, str] = {}
        self._examples: dict[str, dict[str, Any]] = {}
        self._total: int | None = None
        self._step = 0
        self._sent: dict[str, int] = {}          # series name -> points already passed on
        self._checkpoints = Path(checkpoints) if checkpoints is not None else None
        self._key = key
        self._resumed = False                    # run.resume() was called
        self._checkpointed = False
        self._started = time.monotonic()
        self._last_checkpoint = self._started
        self._before = 0.0                       # seconds spent by earlier attempts
        self._attempt = 1
        self.resumed_from: int | None = None
        """The step of the checkpoint this run resumed from (None: a fresh start)."""

    def begin(self) -> None:
        """Set the run up before the experiment starts: seeds, and the journal's figure style."""
        self.seed_everything()
        self.use_figure_style()

    def use_figure_style(self) -> None:
        """Draw with the journal's type scale, figure size and colour map (generator.style.RC).

        An experiment overrides any of it as usual (``plt.subplots(figsize=...)``,
        ``matplotlib.rcParams``). Without matplotlib imported yet, the style is handed to it
        through ``MATPLOTLIBRC``, so importing it costs nothing to a run that draws nothing.
        """
        import sys
        import tempfile

        if "matplotlib" in sys.modules:
            from generator.figures import use_defaults

            use_defaults()
            return
        from generator.style import rc_file_text

        folder = Path(tempfile.mkdtemp(prefix="journal-mplrc-"))
        (folder / "matplotlibrc").write_text(rc_file_text(), encoding="utf-8")
        os.environ["MATPLOTLIBRC"] = str(folder)

    # -- reproducibility -------------------------------------------------
    def seed_everything(self) -> None:
        """Seed python, numpy and (if imported) torch from ``self.seed``."""
        random.seed(self.seed)
        try:
            import numpy as np

            np.random.seed(self.seed % 2**32)
        except ImportError:  # numpy is a dependency, but stay importable without it
            pass
        import sys

        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(self.seed)

    def generator(self):
        """A fresh ``torch.Generator`` seeded with the run's seed."""
        import torch

        return torch.Generator().manual_seed(self.seed)

    # -- series and progress ----------------------------------------------
    def total(self, steps: int) -> None:
        """Announce how many steps the run will take (drives the progress bar)."""
        self._total = int(steps)
        self.progress(0)

    def progress(self, step: int, total: int | None = None) -> None:
        self._step = int(step)
        if total is not None:
            self._total = int(total)
        if self._on_progress is not None:
            self._on_progress(int(step), self._total)

    def log(self, step: int, **scalars: float) -> None:
        """Append one point to each named series, e.g. ``run.log(i, loss=l, lr=lr)``."""
        for name, value in scalars.items():
            _check_name("series", name)
            self._series.setdefault(name, []).append([int(step), float(value)])
        self.progress(step)

    def new_points(self) -> dict[str, list[list[float]]]:
        """The points logged since the last call (what a live view has not seen yet)."""
        out = {}
        for name, points in self._series.items():
            seen = self._sent.get(name, 0)
            if len(points) > seen:
                out[name] = points[seen:]
                self._sent[name] = len(points)
        return out

    # -- checkpoints ------------------------------------------------------
    def resume(self) -> Any:
        """The state last passed to :meth:`checkpoint`, or None on a fresh start.

        Call it once, before the training loop. When it returns a state, the run is where
        it was at that checkpoint: the random number generators (Python's, NumPy's, torch's,
        CUDA's), the series and metrics logged so far and the figures and artifacts saved so
        far are restored; points logged after the checkpoint are gone, so the loop logs them
        again. A ``torch.Generator`` of the experiment's own is part of its state
        (``gen.get_state()``)."""
        if self._resumed:
            raise RuntimeError("run.resume() is called once, before the training loop starts")
        if self._checkpointed or self._series or self._step:
            raise RuntimeError("run.resume() comes before the training loop: call it before "
                               "the first run.log, run.progress or run.checkpoint")
        self._resumed = True
        if self._checkpoints is None:
            return None
        from generator import checkpoints

        saved = checkpoints.load(self._checkpoints)
        if saved is None or saved.get("key") != self._key:
            return None  # another key's state is never used
        self._series = {k: [list(p) for p in v] for k, v in saved["series"].items()}
        self._metrics = {**saved["metrics"], **self._metrics}
        self._examples = dict(saved["examples"])
        self._reads = dict(saved["reads"])
        self._figures, self._artifacts = list(saved["figures"]), list(saved["artifacts"])
        for rel, data in saved["files"].items():
            path = self.out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _set_rng(saved["rng"])
        self._before, self._attempt = saved["elapsed_s"], saved["attempt"] + 1
        self._total = saved["total"]
        self.resumed_from = saved["step"]
        self.progress(saved["step"])
        return saved["state"]

    def checkpoint(self, state: Any) -> None:
        """Save ``state`` (anything ``torch.save`` takes: ``state_dict()``s, tensors, numbers,
        lists, dicts) so that a killed or timed-out run carries on from here.

        The step is the last one logged or reported. The file is replaced whole, so a kill
        while writing leaves the previous checkpoint usable. Outside the journal (no
        checkpoint folder) it does nothing."""
        self._checkpointed = True
        self._last_checkpoint = time.monotonic()
        if self._checkpoints is None:
            return
        from generator import checkpoints

        files = {}
        for sub in ("figures", "artifacts"):
            for path in sorted((self.out_dir / sub).glob("*")) if (self.out_dir / sub).is_dir() else ():
                files[f"{sub}/{path.name}"] = path.read_bytes()
        elapsed = self._before + (time.monotonic() - self._started)
        payload = {"key": self._key, "state": state, "step": self._step, "total": self._total,
                   "series": self._series, "metrics": self._metrics, "examples": self._examples,
                   "reads": self._reads, "figures": self._figures, "artifacts": self._artifacts,
                   "files": files, "rng": _get_rng(), "elapsed_s": elapsed,
                   "attempt": self._attempt}
        summary = {"key": self._key, "step": self._step, "total": self._total,
                   "elapsed_s": round(elapsed, 3), "attempt": self._attempt}
        try:
            checkpoints.save(self._checkpoints, payload, summary)
        except OSError as e:
            raise checkpoints.CheckpointError(
                f"run.checkpoint could not write to {self._checkpoints} ({e.strerror or e}); "
                "the previous checkpoint, if any, is kept") from None
        except Exception as e:  # noqa: BLE001 - pickling errors come in many types
            raise checkpoints.CheckpointError(
                f"run.checkpoint cannot save this state ({type(e).__name__}: {e}): pass what "
                "torch.save takes (state_dict()s, tensors, numbers, strings, lists, dicts)") from None

    def checkpoint_due(self, seconds: float = 60.0) -> bool:
        """True when ``seconds`` have passed since the last checkpoint (or the start):
        ``if run.checkpoint_due(): run.checkpoint(state)`` inside the loop."""
        return time.monotonic() - self._last_checkpoint >= seconds

    def attempts(self) -> dict[str, Any]:
        """How this result came about: attempts, time across them, the step resumed from."""
        return {"attempts": self._attempt,
                "total_s": round(self._before + (time.monotonic() - self._started), 3),
                "resumed_from_step": self.resumed_from}

    # -- final results ----------------------------------------------------
    def metric(self, name: str, value: Any) -> None:
        self._metrics[_check_name("metric", name)] = _finite(name, value)

    def metrics(self, **values: Any) -> None:
        for name, value in values.items():
            self.metric(name, value)

    def artifact(self, name: str, text: str) -> Path:
        """Save a small text artifact (sampled names, a table) as ``artifacts/<name>.txt``."""
        _check_name("artifact", name)
        path = self.out_dir / "artifacts" / f"{name}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        self._artifacts.append(name)
        return path

    def examples(self, metric: str, values, weights=None, *, split=None) -> None:
        """Keep ``metric`` example by example: ``values[i]`` is example i's share (a word's
        summed loss, say) and ``weights[i]`` what it counts for (its characters; 1 each by
        default), so that the metric is ``sum(values) / sum(weights)``. ``split`` names the
        examples (the words of the test split, say): two results whose examples have the same
        names, in the same order, can be compared pair by pair (``{{ check }}`` then tests the
        difference over examples, not only over seeds). Stored in ``examples.json``."""
        _check_name("metric", metric)
        values = [float(v) for v in values]
        weights = [1.0] * len(values) if weights is None else [float(w) for w in weights]
        if len(weights) != len(values) or not values or any(w <= 0 for w in weights):
            raise ValueError(f"examples of {metric!r}: expected as many positive weights as values "
                             f"(got {len(values)} values, {len(weights)} weights)")
        names = json.dumps([str(x) for x in split] if split is not None else len(values))
        self._examples[metric] = {"split": hashlib.sha256(names.encode()).hexdigest()[:16],
                                  "values": values, "weights": weights}

    def figure(self, name: str, fig, *, keep_size: bool = False, narrow=None) -> None:
        """Save a matplotlib figure in a light and a dark variant (PNG at 2x), for the text
        column and for a phone.

        Draw with default colours; the dark copy recolours backgrounds, text,
        spines and black lines to match mkdocs-material's slate scheme, and draws
        colour maps that start at white reversed. The figure is saved at the
        journal's width (its height scaled to match), so type is the same size in
        every figure on the page; ``keep_size=True`` saves it as drawn. It is then laid
        out again at a phone's width (``generator.style.NARROW``) and saved once more,
        so that on a phone its text is as large as the page's; ``narrow`` may instead be
        a function that draws the figure for that width (fewer columns, say) and returns
        it, or False for none. Every PNG is stored with an optimised palette.
        """
        from generator.figures import save_variants
        from generator.style import WIDTH

        _check_name("figure", name)
        if name.endswith(".narrow"):
            raise ValueError(f"figure name {name!r}: '.narrow' names the phone-width variant")
        save_variants(fig, self.out_dir / "figures", name, width=None if keep_size else WIDTH,
                      narrow=narrow)
        self._figures.append(name)

    @property
    def saved_figures(self) -> list[str]:
        """The names of the figures saved so far."""
        return list(self._figures)

    # -- data ---------------------------------------------------------------
    def read_text(self, path: str | os.PathLike) -> str:
        """Read a data file and record its content hash, so editing it re-runs this experiment."""
        return self.read_bytes(path).decode("utf-8")

    def read_bytes(self, path: str | os.PathLike) -> bytes:
        p = Path(path)
        if not p.is_absolute():
            p = self.root / p
        data = p.read_bytes()
        try:
            shown = p.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            shown = str(p.resolve())
        self._reads[shown] = hashlib.sha256(data).hexdigest()
        return data

    # -- written by the executor ------------------------------------------
    def finish(self, returned: Any = None) -> dict[str, Any]:
        """Fold a returned mapping into the metrics and write metrics/series/reads."""
        if isinstance(returned, dict):
            self.metrics(**returned)
        elif returned is not None:
            raise TypeError(
                f"an experiment returns None or a dict of metrics, not {type(returned).__name__}"
            )
        # ±inf is a result (a model that gives an unseen pair probability 0 has an
        # infinite NLL); NaN is not: something diverged or divided 0 by 0.
        bad = [k for k, v in self._metrics.items() if isinstance(v, float) and math.isnan(v)]
        if bad:
            raise ValueError(
                f"metric {', '.join(repr(k) for k in sorted(bad))} is not a finite number (nan): "
                "the run diverged or divided zero by zero (±inf is kept as a result, NaN never is); "
                "report a finding such as divergence as a bool or a string"
            )
        metrics = {k: _json_number(v) for k, v in sorted(self._metrics.items())}
        (self.out_dir / "metrics.json").write_text(
            json.dumps(metrics, indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        series = {k: [[s, _json_number(v)] for s, v in pts] for k, pts in sorted(self._series.items())}
        # series may hold NaN/inf (a loss that blew up is worth plotting): stored as strings
        (self.out_dir / "series.json").write_text(
            json.dumps(series, separators=(",", ":"), allow_nan=False) + "\n", encoding="utf-8"
        )
        if self._examples:
            missing = sorted(set(self._examples) - set(self._metrics))
            if missing:
                raise ValueError(f"examples were kept for {', '.join(map(repr, missing))}, which the "
                                 "run reported no metric for")
            (self.out_dir / "examples.json").write_text(
                json.dumps(dict(sorted(self._examples.items())), separators=(",", ":")) + "\n",
                encoding="utf-8")
        return {
            "figures": sorted(set(self._figures)),
            "artifacts": sorted(set(self._artifacts)),
            "reads": dict(sorted(self._reads.items())),
        }


def _get_rng() -> dict[str, Any]:
    import sys

    state: dict[str, Any] = {"python": random.getstate()}
    if "numpy" in sys.modules:
        state["numpy"] = sys.modules["numpy"].random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        state["torch"] = torch.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    if "numpy" in state:
        import numpy as np

        np.random.set_state(state["numpy"])
    if "torch" in state:
        import torch

        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


def _json_number(value: Any) -> Any:
    """JSON has no NaN or inf: store them as strings ("nan", "inf", "-inf").

    A metric is never NaN (``finish`` refuses it); ``store.Result`` reads a metric's
    "inf" and "-inf" back as floats."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf"
    return value

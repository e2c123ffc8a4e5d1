"""Training helpers the makemore experiments share: the three splits on the run's device,
minibatches drawn ahead, a logging interval, and one minibatch-SGD loop with a step decay.

``train`` works for any model that has ``parameters()``, is called as ``model(X,
training=True)`` for logits, and has ``nll(X, Y)`` for a split's mean loss: week 2's
``MLP`` and week 3's WaveNet ``Tree`` both do.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .clock import Stopwatch
from .data import build_dataset, keep_word_losses, load_split

MAX_POINTS = 2000  # per logged series


def every(steps: int, points: int = MAX_POINTS) -> int:
    """A logging interval that keeps a series of ``steps`` steps under ``points`` points."""
    return max(1, math.ceil(steps / points))


def sgd_step(params: list[torch.Tensor], loss: torch.Tensor, lr: float) -> None:
    """One step of plain gradient descent on ``loss``."""
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.add_(p.grad, alpha=-lr)


def load_splits(run, data: str, dedup: bool, split_seed: int, block_size: int):
    """The vocabulary, the three (X, Y) splits on the run's device, and the split's words."""
    vocab, split = load_split(run, data, split_seed, dedup)
    sets = {}
    for name in ("train", "dev", "test"):
        X, Y = build_dataset(getattr(split, name), vocab, block_size)
        sets[name] = (X.to(run.device), Y.to(run.device))
    return vocab, sets, split


@torch.no_grad()
def example_losses(model, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Each example's loss, (N,), for a model called as ``model(X)`` for logits (evaluation
    mode), in chunks so a large split fits in memory."""
    return torch.cat([F.cross_entropy(model(X[start:start + 65536]), Y[start:start + 65536],
                                      reduction="none") for start in range(0, len(X), 65536)])


def keep_split_losses(run, model, sets, split) -> None:
    """Keep ``dev_nll`` and ``test_nll`` word by word (``data.keep_word_losses``), for paired
    comparisons with other models on the same words. Called after the metrics are computed:
    it changes none of them."""
    for name in ("dev", "test"):
        keep_word_losses(run, f"{name}_nll", example_losses(model, *sets[name]), getattr(split, name))


def batches(n: int, batch_size: int, count: int, generator: torch.Generator, device: str):
    """Minibatch indices, drawn ahead in blocks of 1000 steps: one RNG call per block."""
    for start in range(0, count, 1000):
        block = torch.randint(0, n, (min(1000, count - start), batch_size), generator=generator)
        yield from block.to(device)


def train(run, model, sets, generator: torch.Generator, *, steps: int, batch_size: int,
           lr: float, lr_final: float, decay_at: float, watch=None) -> dict[str, float]:
    """Minibatch SGD; the rate drops from ``lr`` to ``lr_final`` after ``decay_at`` of the steps.
    Returns the seconds it took, wall-clock and CPU (``Stopwatch``), dev evaluations included.

    Series: ``train_loss`` (mean minibatch loss over each logging interval) and
    ``dev_loss`` (the whole dev split in evaluation mode, 50 times per run). If
    given, ``watch(step, lr)`` is called at each logging step, right after the
    update, while the step's activations and gradients are still at hand.
    """
    params = model.parameters()
    X, Y = sets["train"]
    run.total(steps)
    log_every, eval_every = every(steps), max(1, steps // 50)
    decay_step = int(decay_at * steps)
    running, in_window = torch.zeros((), device=run.device), 0
    clock = Stopwatch()
    for k, ix in enumerate(batches(len(X), batch_size, steps, generator, run.device)):
        loss = F.cross_entropy(model(X[ix], training=True), Y[ix])
        step_lr = lr if k < decay_step else lr_final
        sgd_step(params, loss, step_lr)
        running += loss.detach()  # summed on the device: no read-back every step
        in_window += 1
        if in_window == log_every or k == steps - 1:
            run.log(k, train_loss=running.item() / in_window)
            running.zero_()
            in_window = 0
            if watch is not None:
                watch(k, step_lr)
        if k % eval_every == 0 or k == steps - 1:
            run.log(k, dev_loss=model.nll(*sets["dev"]))
    return clock.read()

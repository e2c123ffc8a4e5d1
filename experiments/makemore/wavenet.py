"""A WaveNet-style character model: a long context, fused two characters at a time.

Week 2's MLP squashes its whole context into one hidden layer at once. Here the
block of 8 characters is embedded and then merged in a tree, as in WaveNet (van
den Oord et al., 2016) and the fifth makemore lecture: neighbouring pairs are
concatenated and go through Linear + BatchNorm + tanh (8 -> 4 positions), then
pairs of those (4 -> 2), then the last pair (2 -> 1), then a Linear to logits.

The layers are week 2's ``Linear`` and ``BatchNorm1d``; BatchNorm here normalises
each unit over the batch *and* the positions, since every position shares the
same weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from generator.params import PositiveFloat, PositiveInt, Probability

from .data import sample_words
from .deeper import TANH_GAIN, BatchNorm1d, Linear
from .neural import N_SAMPLES
from .training import keep_split_losses, load_splits, train


class Tree:
    """Embedding C, then ``levels`` times: fuse pairs, Linear (no bias), BatchNorm, tanh; then a Linear.

    ``block_size`` must be 2 ** levels, so the last fusion leaves one position.
    """

    def __init__(self, vocab_size: int, block_size: int, emb: int, hidden: int,
                 generator: torch.Generator, device: str):
        self.levels = int(math.log2(block_size))
        if 2 ** self.levels != block_size:
            raise ValueError(f"block_size={block_size} is not a power of 2: the tree fuses pairs")
        self.C = torch.randn(vocab_size, emb, generator=generator).to(device)  # (V, emb)
        fan_ins = [2 * emb] + [2 * hidden] * (self.levels - 1)
        self.hidden = [Linear(i, hidden, generator, device, bias=False) for i in fan_ins]
        self.norms = [BatchNorm1d(hidden, device) for _ in fan_ins]
        self.output = Linear(hidden, vocab_size, generator, device)
        with torch.no_grad():
            for layer in self.hidden:  # Kaiming, as week 2's deep_mlp
                layer.weight *= TANH_GAIN / math.sqrt(layer.weight.shape[0])
            self.output.weight *= 0.1 / math.sqrt(hidden)  # a near-uniform first guess
            self.output.bias *= 0
        for p in self.parameters():
            p.requires_grad_()

    def parameters(self) -> list[torch.Tensor]:
        params = [self.C]
        for layer, norm in zip(self.hidden, self.norms):
            params += layer.parameters() + norm.parameters()
        return params + self.output.parameters()

    def __call__(self, X: torch.Tensor, training: bool = False, track: bool = True) -> torch.Tensor:
        """Logits (B, V) for contexts X (B, block_size)."""
        x = self.C[X]                                  # (B, 8, emb)
        for layer, norm in zip(self.hidden, self.norms):
            B, T, C = x.shape
            x = x.reshape(B, T // 2, 2 * C)            # fuse neighbours: (B, T/2, 2C)
            x = layer(x)                               # (B, T/2, hidden)
            # one BatchNorm over batch and positions: fold the positions into the batch
            x = norm(x.reshape(-1, x.shape[-1]), training, track).view(x.shape)
            x = torch.tanh(x)
        return self.output(x.squeeze(1))               # (B, V)

    @torch.no_grad()
    def nll(self, X: torch.Tensor, Y: torch.Tensor) -> float:
        """Mean NLL over a whole split, with BatchNorm's running statistics."""
        total = 0.0
        for start in range(0, len(X), 65536):
            logits = self(X[start:start + 65536])
            total += F.cross_entropy(logits, Y[start:start + 65536], reduction="sum").item()
        return total / len(X)


def wavenet(
    run,
    *,
    block_size: PositiveInt = 8,
    emb: PositiveInt = 24,
    hidden: PositiveInt = 128,
    steps: PositiveInt = 200_000,
    batch_size: PositiveInt = 32,
    lr: PositiveFloat = 0.1,
    lr_final: PositiveFloat = 0.01,
    decay_at: Probability = 0.75,
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """Train the tree with minibatch SGD, as the lecture: rate ``lr``, then ``lr_final``.

    The defaults are the lecture's (embedding 24, 128 hidden units: 76,579
    parameters with 27 symbols; the rate drops at 150k of 200k steps).
    Series: ``train_loss`` and ``dev_loss`` (as week 2's). ``wall_s``, ``cpu_s``:
    seconds spent training, dev evaluations included.
    """
    g = run.generator()  # draws the initial weights, then every minibatch
    vocab, sets, split = load_splits(run, data, dedup, split_seed, block_size)
    model = Tree(vocab.size, block_size, emb, hidden, g, run.device)
    took = train(run, model, sets, g, steps=steps, batch_size=batch_size,
                  lr=lr, lr_final=lr_final, decay_at=decay_at)

    samples = sample_words(
        lambda ctx: F.softmax(model(ctx.to(run.device)), dim=1).detach(),
        vocab, block_size, N_SAMPLES, run.generator(),
    )
    run.artifact("samples", "\n".join(samples))
    metrics = {
        "train_nll": model.nll(*sets["train"]),
        "dev_nll": model.nll(*sets["dev"]),
        "test_nll": model.nll(*sets["test"]),
        "params": sum(p.numel() for p in model.parameters()),
        **took,
    }
    keep_split_losses(run, model, sets, split)
    return metrics

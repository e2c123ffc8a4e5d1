"""Neural character models: the bigram as a weight matrix, and Bengio et al.'s MLP.

``bigram_nn`` shows that gradient descent on a V x V matrix of logits recovers the
count table. ``mlp`` is the model of Bengio, Ducharme, Vincent and Jauvin (2003) at
the character level: embed the previous ``block_size`` characters, one tanh
hidden layer, softmax over the next character (the paper's direct input-to-output
connections are left out, as in the lectures). ``lr_sweep`` is the lectures'
learning-rate finder for that MLP.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from generator.params import NonNegativeFloat, PositiveFloat, PositiveInt, Probability  # noqa: E402

from .clock import Stopwatch  # noqa: E402
from .counts import bigram_counts, bigram_nll, bigram_probs  # noqa: E402
from .data import build_dataset, load_split, sample_words  # noqa: E402
from .training import batches, every, keep_split_losses, sgd_step  # noqa: E402

N_SAMPLES = 20  # words in each `samples` artifact


# -- bigram_nn ---------------------------------------------------------------------

def bigram_nn(
    run,
    *,
    steps: PositiveInt = 500,
    lr: PositiveFloat = 50.0,
    reg: NonNegativeFloat = 0.01,
    smoothing: NonNegativeFloat = 1.0,
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """A bigram model as one V x V weight matrix W, trained by full-batch gradient descent.

    One-hot(previous) @ W gives logits, read as log-counts: exp and normalise, and
    row i of softmax(W) plays the part of row i of the count table. ``reg`` * mean(W^2)
    pulls the logits towards equal, the way add-k smoothing pulls counts towards
    uniform. The count model (add-k with ``smoothing``) is fitted on the same split
    for comparison: ``gap`` = train_nll - count_train_nll.
    """
    vocab, split = load_split(run, data, split_seed, dedup)
    V = vocab.size
    X, Y = build_dataset(split.train, vocab, block_size=1)
    X_dev, Y_dev = build_dataset(split.dev, vocab, block_size=1)
    device = run.device
    x_onehot = F.one_hot(X[:, 0], V).float().to(device)  # (N, V)
    Y = Y.to(device)
    W = torch.randn(V, V, generator=run.generator()).to(device).requires_grad_()

    counts = bigram_counts(split.train, vocab)
    P_counts = bigram_probs(counts, smoothing)
    count_train_nll = bigram_nll(P_counts, split.train, vocab)

    run.total(steps)
    log_every = every(steps)
    curve: list[tuple[int, float]] = []  # (step, train NLL) for the figure
    for k in range(steps):
        logits = x_onehot @ W  # (N, V)
        nll = F.cross_entropy(logits, Y)  # = -log softmax(logits)[target], averaged
        loss = nll + reg * (W**2).mean()
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
        if k % log_every == 0 or k == steps - 1:
            run.log(k, loss=loss.item(), nll=nll.item())
            curve.append((k, nll.item()))

    with torch.no_grad():
        train_nll = F.cross_entropy(x_onehot @ W, Y).item()
        dev_nll = F.cross_entropy(W[X_dev[:, 0].to(device)], Y_dev.to(device)).item()
    run.figure("loss", _plot_bigram_loss(curve, count_train_nll, smoothing))
    return {
        "train_nll": train_nll,
        "dev_nll": dev_nll,
        "count_train_nll": count_train_nll,
        "count_dev_nll": bigram_nll(P_counts, split.dev, vocab),
        "gap": train_nll - count_train_nll,
        "params": V * V,
    }


def _plot_bigram_loss(curve: list[tuple[int, float]], count_train_nll: float, smoothing: float):
    steps, nll = zip(*curve) if curve else ((), ())
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, nll, color="C0", label="weight matrix, train NLL")
    ax.axhline(count_train_nll, color="C1", linestyle="--",
               label=f"counts (add-{smoothing:g}), train NLL {count_train_nll:.3f}")
    # The first steps fall from ~4; cut them off so the approach to the line shows.
    ax.set_ylim(count_train_nll - 0.05, count_train_nll + 0.5)
    if nll:
        ax.set_title(f"final gap to the count model: {nll[-1] - count_train_nll:+.4f} nats")
    ax.set_xlabel("step")
    ax.set_ylabel("NLL (nats per character)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig


# -- the MLP -----------------------------------------------------------------------

class CharMLP:
    """Embedding table C, one tanh hidden layer, a linear layer to next-character logits.

    Every parameter starts as a standard normal, as in the lecture that introduces
    the model; the next lecture's rescaled init (less tanh saturation, a less
    confident first softmax) is a separate experiment.
    """

    def __init__(self, vocab_size: int, block_size: int, emb: int, hidden: int,
                 generator: torch.Generator, device: str):
        def normal(*shape: int) -> torch.Tensor:
            # Drawn on the CPU so that a seed gives the same weights on every device.
            return torch.randn(*shape, generator=generator).to(device).requires_grad_()

        self.C = normal(vocab_size, emb)                # (V, emb): one row per character
        self.W1 = normal(block_size * emb, hidden)      # (block*emb, hidden)
        self.b1 = normal(hidden)
        self.W2 = normal(hidden, vocab_size)            # (hidden, V)
        self.b2 = normal(vocab_size)

    def parameters(self) -> list[torch.Tensor]:
        return [self.C, self.W1, self.b1, self.W2, self.b2]

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (B, V) for contexts X (B, block_size)."""
        emb = self.C[X]                                              # (B, block, emb)
        # addmm(b, x, W) = x @ W + b in one call; the loop runs it 400k times.
        h = torch.tanh(torch.addmm(self.b1, emb.flatten(1), self.W1))  # (B, hidden)
        return torch.addmm(self.b2, h, self.W2)                      # (B, V)

    @torch.no_grad()
    def nll(self, X: torch.Tensor, Y: torch.Tensor) -> float:
        """Mean NLL over a whole split, in chunks so a large one fits in memory."""
        total = 0.0
        for start in range(0, len(X), 65536):
            logits = self(X[start:start + 65536])
            total += F.cross_entropy(logits, Y[start:start + 65536], reduction="sum").item()
        return total / len(X)


def _mlp_setup(run, data: str, dedup: bool, split_seed: int, block_size: int, emb: int, hidden: int,
               generator: torch.Generator):
    """Vocabulary, the three (X, Y) splits on the run's device, a fresh model and the split."""
    vocab, split = load_split(run, data, split_seed, dedup)
    sets = {}
    for name in ("train", "dev", "test"):
        X, Y = build_dataset(getattr(split, name), vocab, block_size)
        sets[name] = (X.to(run.device), Y.to(run.device))
    model = CharMLP(vocab.size, block_size, emb, hidden, generator, run.device)
    return vocab, sets, model, split


def mlp(
    run,
    *,
    block_size: PositiveInt = 3,
    emb: PositiveInt = 10,
    hidden: PositiveInt = 200,
    steps: PositiveInt = 200_000,
    batch_size: PositiveInt = 32,
    lr: PositiveFloat = 0.1,
    lr_final: PositiveFloat = 0.01,
    decay_at: Probability = 0.5,
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """Train the character MLP with minibatch SGD; evaluate every split at the end.

    The learning rate is ``lr`` for the first ``decay_at`` fraction of the steps and
    ``lr_final`` after (the lectures: 0.1, then 0.01 from step 100k of 200k).
    Series: ``train_loss`` (the mean minibatch loss over each logging interval) and
    ``dev_loss`` (the whole dev split, 50 times per run).
    """
    g = run.generator()  # draws the initial weights, then every minibatch
    vocab, sets, model, split = _mlp_setup(run, data, dedup, split_seed, block_size, emb, hidden, g)
    params = model.parameters()
    X, Y = sets["train"]

    run.total(steps)
    # the dev split is evaluated about 50 times, but never more often than every 1,000
    # steps: a whole-split evaluation costs as much as many training steps
    log_every, eval_every = every(steps), max(min(steps, 1000), steps // 50)
    decay_step = int(decay_at * steps)
    running, in_window = torch.zeros((), device=run.device), 0
    train_curve, dev_curve = [], []
    clock = Stopwatch()
    for k, ix in enumerate(batches(len(X), batch_size, steps, g, run.device)):
        loss = F.cross_entropy(model(X[ix]), Y[ix])
        step_lr = lr if k < decay_step else lr_final
        sgd_step(params, loss, step_lr)
        # Accumulate on the device: reading a value back every step would stall a GPU.
        running += loss.detach()
        in_window += 1
        if in_window == log_every or k == steps - 1:
            mean = running.item() / in_window
            run.log(k, train_loss=mean, lr=step_lr)
            train_curve.append((k, mean))
            running.zero_()
            in_window = 0
        if k % eval_every == 0 or k == steps - 1:
            dev = model.nll(*sets["dev"])
            run.log(k, dev_loss=dev)
            dev_curve.append((k, dev))
    took = clock.read()

    samples = sample_words(
        lambda ctx: F.softmax(model(ctx.to(run.device)), dim=1).detach(),
        vocab, block_size, N_SAMPLES, run.generator(),
    )
    run.artifact("samples", "\n".join(samples))
    run.figure("loss", _plot_mlp_loss(train_curve, dev_curve, decay_step if decay_step < steps else None))
    run.figure("embedding", _plot_embedding(model.C.detach().cpu(), vocab.chars))
    metrics = {
        "train_nll": model.nll(*sets["train"]),
        "dev_nll": model.nll(*sets["dev"]),
        "test_nll": model.nll(*sets["test"]),
        "params": sum(p.numel() for p in params),
        **took,  # the training loop, dev evaluations included
    }
    keep_split_losses(run, model, sets, split)
    return metrics


def _plot_mlp_loss(train_curve, dev_curve, decay_step: int | None):
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    if train_curve:
        ax.plot(*zip(*train_curve), color="C0", alpha=0.8, linewidth=0.8, label="train (minibatch mean)")
    if dev_curve:
        ax.plot(*zip(*dev_curve), "o-", color="C1", markersize=3, label="dev (whole split)")
    if decay_step is not None:
        ax.axvline(decay_step, color="gray", linestyle=":", label="learning rate drop")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())  # label 2, 3, 4 rather than 10^0.3...
    ax.set_xlabel("step")
    ax.set_ylabel("NLL (nats per character, log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig


def _plot_embedding(C: torch.Tensor, chars: str):
    """Each character's embedding; with more than 2 dimensions, its first 2 principal components."""
    if C.shape[1] == 2:
        points, xlabel, ylabel = C, "dimension 1", "dimension 2"
    else:
        centred = C - C.mean(dim=0)
        _, S, Vh = torch.linalg.svd(centred, full_matrices=False)
        points = centred @ Vh[:2].T  # (V, 2)
        share = (S**2 / (S**2).sum()).tolist()
        xlabel, ylabel = f"PC 1 ({share[0]:.0%} of variance)", f"PC 2 ({share[1]:.0%} of variance)"
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(points[:, 0], points[:, 1], s=160, color="C0", alpha=0.35)
    for (x, y), ch in zip(points.tolist(), chars):
        ax.text(x, y, ch, ha="center", va="center", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("character embeddings")
    ax.grid(True, alpha=0.3)
    return fig


# -- lr_sweep ----------------------------------------------------------------------

def lr_sweep(
    run,
    *,
    block_size: PositiveInt = 3,
    emb: PositiveInt = 10,
    hidden: PositiveInt = 200,
    steps: PositiveInt = 1000,
    batch_size: PositiveInt = 32,
    lr_min: PositiveFloat = 0.001,
    lr_max: PositiveFloat = 1.0,
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """The learning-rate finder: one run whose rate grows exponentially each step.

    Step i uses lr_min * (lr_max / lr_min)^(i / (steps - 1)). The minibatch loss is
    smoothed with a centred moving average (a twentieth of the steps wide);
    ``best_lr`` is the rate where the smoothed loss is lowest, the point past which
    bigger steps stop helping. Read it as an upper end: a run that keeps one rate
    for many steps usually wants a somewhat smaller one.
    """
    g = run.generator()
    _, sets, model, _ = _mlp_setup(run, data, dedup, split_seed, block_size, emb, hidden, g)
    params = model.parameters()
    X, Y = sets["train"]
    lrs = torch.logspace(math.log10(lr_min), math.log10(lr_max), steps).tolist()

    run.total(steps)
    losses = torch.zeros(steps, device=run.device)
    for k, ix in enumerate(batches(len(X), batch_size, steps, g, run.device)):
        loss = F.cross_entropy(model(X[ix]), Y[ix])
        sgd_step(params, loss, lrs[k])
        losses[k] = loss.detach()
        if k % 100 == 0:
            run.progress(k)
    losses = losses.cpu()
    smooth = _moving_average(losses, max(1, steps // 20))
    for k in range(0, steps, every(steps)):
        run.log(k, loss=losses[k].item(), smoothed=smooth[k].item(), lr=lrs[k])
    # Ignore non-finite losses (a diverged tail) when looking for the minimum.
    finite = torch.where(torch.isfinite(smooth), smooth, torch.tensor(float("inf")))
    best = int(finite.argmin())
    run.figure("sweep", _plot_sweep(lrs, losses, smooth, lrs[best]))
    return {"best_lr": lrs[best], "best_loss": smooth[best].item()}


def _moving_average(x: torch.Tensor, window: int) -> torch.Tensor:
    """Centred moving average; near the ends, the mean of the points available."""
    half = window // 2
    padded = torch.cat([torch.zeros(1), x.double().cumsum(0)])
    idx = torch.arange(len(x))
    lo, hi = (idx - half).clamp(min=0), (idx + half + 1).clamp(max=len(x))
    return ((padded[hi] - padded[lo]) / (hi - lo)).float()


def _plot_sweep(lrs: list[float], losses: torch.Tensor, smooth: torch.Tensor, best_lr: float):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(lrs, losses.tolist(), color="C0", alpha=0.3, linewidth=0.7, label="minibatch loss")
    ax.plot(lrs, smooth.tolist(), color="C0", label="moving average")
    ax.axvline(best_lr, color="C1", linestyle="--", label=f"lowest at lr = {best_lr:.3g}")
    ax.set_xscale("log")
    finite = smooth[torch.isfinite(smooth)]
    if len(finite):  # keep the diverged tail from flattening the interesting part
        ax.set_ylim(top=min(float(finite.max()), float(finite.min()) * 3))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss (nats per character)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig

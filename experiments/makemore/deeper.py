"""Activations, gradients and BatchNorm: week 1's MLP made healthy, then deeper.

``mlp_init`` retrains week 1's MLP with its initialisation fixed one step at a
time: first the softmax (a confident, wrong first guess costs thousands of steps),
then the tanh layer (saturated units pass no gradient), first by a hand-picked
scale and then by Kaiming's gain / sqrt(fan_in). ``deep_mlp`` stacks several
Linear + tanh layers, with or without BatchNorm, and logs the lectures'
diagnostics while it trains: how many units saturate, and how big each update is
next to the weights it changes.

Both share one model class (``MLP``, with a hand-written ``BatchNorm1d``) and one
training loop (``training.train``). Every weight starts as a standard normal drawn in week 1's order,
so ``mlp_init(fix="none")`` is week 1's ``mlp`` step for step, and each fix only
rescales the same draws.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from generator.params import PositiveFloat, PositiveInt, Probability  # noqa: E402

from .training import keep_split_losses, load_splits, train  # noqa: E402

FIXES = ("none", "softmax", "tanh", "kaiming")
TANH_GAIN = 5 / 3  # tanh squashes its input; this gain keeps a deep stack's activations at unit scale
SATURATED = 0.97   # |tanh| above this: the unit sits on a flat tail, its local gradient 1 - t^2 < 0.06
PROBE = 1000       # training examples used to look inside the network (histograms, saturation)


# -- the model ---------------------------------------------------------------------

class Linear:
    """x @ W + b, with W (fan_in, fan_out) and b drawn as standard normals; rescale after."""

    def __init__(self, fan_in: int, fan_out: int, generator: torch.Generator, device: str,
                 bias: bool = True):
        # Drawn on the CPU so that a seed gives the same weights on every device.
        self.weight = torch.randn(fan_in, fan_out, generator=generator).to(device)
        self.bias = torch.randn(fan_out, generator=generator).to(device) if bias else None

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return x @ self.weight
        return torch.addmm(self.bias, x, self.weight)  # x @ W + b in one call


class BatchNorm1d:
    """Normalise each unit over the batch, then scale by gamma and shift by beta.

    In training the batch's own mean and variance are used, and running averages
    of them are kept; at evaluation the running averages stand in, so an example's
    output no longer depends on the others in its batch. The running averages
    span about 1/momentum steps: a few thousand examples at momentum 0.01 and
    batches of 32, long enough to smooth one batch's noise, short enough to
    follow the weights as they learn (and to settle in a quick run).
    """

    def __init__(self, dim: int, device: str, momentum: float = 0.01, eps: float = 1e-5):
        self.momentum, self.eps = momentum, eps
        self.gamma = torch.ones(dim, device=device)
        self.beta = torch.zeros(dim, device=device)
        self.running_mean = torch.zeros(dim, device=device)
        self.running_var = torch.ones(dim, device=device)

    def parameters(self) -> list[torch.Tensor]:
        return [self.gamma, self.beta]  # the running statistics are not learned

    def __call__(self, x: torch.Tensor, training: bool, track: bool = True) -> torch.Tensor:
        if training:
            var, mean = torch.var_mean(x, dim=0, correction=0)  # (dim,) each
            if track:
                with torch.no_grad():
                    n = x.shape[0]
                    self.running_mean.lerp_(mean, self.momentum)
                    # The running variance estimates the population's: unbiased, as in torch.nn.
                    self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * torch.rsqrt(var + self.eps) * self.gamma + self.beta


class MLP:
    """Embedding C, then ``len(widths)`` hidden layers Linear [+ BatchNorm] + tanh, then a Linear to logits.

    With one hidden layer and no BatchNorm this is week 1's model, and its weights
    are drawn in the same order (C, W1, b1, W2, b2). A Linear followed by
    BatchNorm has no bias: the norm subtracts it again, and beta takes its place.
    """

    def __init__(self, vocab_size: int, block_size: int, emb: int, widths: list[int],
                 batchnorm: bool, generator: torch.Generator, device: str):
        self.C = torch.randn(vocab_size, emb, generator=generator).to(device)  # (V, emb)
        fan_ins = [block_size * emb] + widths[:-1]
        self.hidden = [Linear(i, o, generator, device, bias=not batchnorm)
                       for i, o in zip(fan_ins, widths)]
        self.norms = [BatchNorm1d(w, device) if batchnorm else None for w in widths]
        self.output = Linear(widths[-1], vocab_size, generator, device)
        self.preacts: list[torch.Tensor] = []  # each hidden layer's input to tanh, from the last call
        self.acts: list[torch.Tensor] = []     # ... and its output
        for p in self.parameters():
            p.requires_grad_()

    def parameters(self) -> list[torch.Tensor]:
        params = [self.C]
        for layer, norm in zip(self.hidden, self.norms):
            params += layer.parameters() + (norm.parameters() if norm else [])
        return params + self.output.parameters()

    def __call__(self, X: torch.Tensor, training: bool = False, track: bool = True) -> torch.Tensor:
        """Logits (B, V) for contexts X (B, block_size)."""
        x = self.C[X].flatten(1)  # (B, block * emb)
        self.preacts, self.acts = [], []
        for layer, norm in zip(self.hidden, self.norms):
            x = layer(x)
            if norm is not None:
                x = norm(x, training, track)
            self.preacts.append(x)
            x = torch.tanh(x)  # (B, width)
            self.acts.append(x)
        return self.output(x)

    @torch.no_grad()
    def nll(self, X: torch.Tensor, Y: torch.Tensor, training: bool = False) -> float:
        """Mean NLL over a whole split, in chunks so a large one fits in memory.

        ``training=True`` normalises with each chunk's own statistics (and leaves the
        running ones alone): how the network sees data before it has any running averages.
        """
        total = 0.0
        for start in range(0, len(X), 65536):
            logits = self(X[start:start + 65536], training=training, track=False)
            total += F.cross_entropy(logits, Y[start:start + 65536], reduction="sum").item()
        return total / len(X)


def _saturation(acts: list[torch.Tensor]) -> torch.Tensor:
    """Per layer, the fraction of tanh outputs with |t| > SATURATED: a (layers,) tensor."""
    return torch.stack([(a.abs() > SATURATED).float().mean() for a in acts])


def _probe(run, n_train: int) -> torch.Tensor:
    """Indices of PROBE training examples, from a generator of their own (the run's
    batches are unchanged by looking)."""
    return torch.randint(0, n_train, (PROBE,), generator=run.generator()).to(run.device)


# -- mlp_init ----------------------------------------------------------------------

def mlp_init(
    run,
    *,
    fix: str = "none",
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
    """Week 1's MLP (same data, split, schedule and seed use) with its initialisation fixed.

    ``fix`` is one of:

    - "none": every parameter a standard normal, as week 1 (the same weights and batches);
    - "softmax": output weights * 0.01 and output bias 0, so the first logits are
      near 0 and the first prediction near uniform, with loss -log(1/V);
    - "tanh": the softmax fix, and hidden weights * 0.2, hidden bias * 0.01 (the
      lecture's hand-picked scale), so few tanh units start saturated;
    - "kaiming": the softmax fix, and hidden weights * (5/3) / sqrt(fan_in): the same
      idea with a scale that follows from the layer's shape instead of trial.

    ``init_loss`` is the loss before any update over the whole training split;
    ``saturated_init`` is the fraction of hidden tanh outputs with |h| > 0.97 before
    any update, over a probe of 1000 training examples.
    """
    if fix not in FIXES:
        raise ValueError(f"fix={fix!r} is not known: use one of {', '.join(map(repr, FIXES))}")
    g = run.generator()  # draws the initial weights, then every minibatch
    vocab, sets, split = load_splits(run, data, dedup, split_seed, block_size)
    model = MLP(vocab.size, block_size, emb, [hidden], False, g, run.device)
    W1, b1 = model.hidden[0].weight, model.hidden[0].bias
    with torch.no_grad():
        if fix != "none":
            model.output.weight *= 0.01
            model.output.bias *= 0
        if fix == "tanh":
            W1 *= 0.2
            b1 *= 0.01
        if fix == "kaiming":
            W1 *= TANH_GAIN / math.sqrt(block_size * emb)
            b1 *= 0.01

    X, _ = sets["train"]
    probe = _probe(run, len(X))
    init_loss = model.nll(*sets["train"])
    with torch.no_grad():
        model(X[probe])
    saturated_init = _saturation(model.acts).item()
    preact, act = model.preacts[0].cpu(), model.acts[0].cpu()
    run.figure("hidden_init", _plot_hidden_init(preact, act, fix, rows=batch_size),
               narrow=lambda: _plot_hidden_init(preact, act, fix, rows=batch_size, narrow=True))

    took = train(run, model, sets, g, steps=steps, batch_size=batch_size,
                  lr=lr, lr_final=lr_final, decay_at=decay_at)

    metrics = {
        "init_loss": init_loss,
        "expected_init_loss": math.log(vocab.size),  # -log(1/V): a uniform guess
        "saturated_init": saturated_init,
        "train_nll": model.nll(*sets["train"]),
        "dev_nll": model.nll(*sets["dev"]),
        "test_nll": model.nll(*sets["test"]),
        "params": sum(p.numel() for p in model.parameters()),
        **took,
    }
    keep_split_losses(run, model, sets, split)
    return metrics


def _plot_hidden_init(preact: torch.Tensor, act: torch.Tensor, fix: str, rows: int, narrow: bool = False):
    """Pre-activations and tanh outputs at init, and which units of ``rows`` examples saturate:
    side by side, or one above the other (``narrow``, for a phone's width)."""
    if narrow:
        fig, (ax_pre, ax_act, ax_map) = plt.subplots(
            3, 1, figsize=(4.0, 7.0), gridspec_kw={"height_ratios": [1, 1, 1.3]}, layout="constrained")
    else:
        fig, (ax_pre, ax_act, ax_map) = plt.subplots(
            1, 3, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1, 1, 1.6]})
    ax_pre.hist(preact.flatten().tolist(), bins=50, color="C0")
    ax_pre.set_xlabel("pre-activation")
    ax_pre.set_ylabel("count")
    ax_act.hist(act.flatten().tolist(), bins=50, color="C1")
    ax_act.set_xlabel("tanh output")
    share = (act.abs() > SATURATED).float().mean().item()
    ax_act.set_title(f"{share:.1%} saturated")
    ax_map.imshow((act[:rows].abs() > SATURATED).numpy(), cmap="gray", interpolation="nearest",
                  aspect="auto")
    ax_map.set_xlabel("hidden unit")
    ax_map.set_ylabel("example")
    ax_map.set_title(f"white: |h| > {SATURATED}")
    fig.suptitle(f"hidden layer before training (fix: {fix})")
    if not narrow:
        fig.tight_layout()
    return fig


# -- deep_mlp ----------------------------------------------------------------------

def deep_mlp(
    run,
    *,
    layers: PositiveInt = 5,
    hidden: PositiveInt = 100,
    batchnorm: bool = False,
    block_size: PositiveInt = 3,
    emb: PositiveInt = 10,
    steps: PositiveInt = 30_000,
    batch_size: PositiveInt = 32,
    lr: PositiveFloat = 0.1,
    lr_final: PositiveFloat = 0.01,
    decay_at: Probability = 0.5,
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """``layers`` hidden layers of ``hidden`` tanh units, Kaiming-initialised, optionally with BatchNorm.

    Hidden weights start at gain 5/3 / sqrt(fan_in), biases at 0; the output layer
    at 0.1 / sqrt(fan_in), so the first prediction is near uniform. Evaluation
    (dev_loss, the *_nll metrics, the end-of-run figures) uses BatchNorm's running
    statistics. ``init_loss`` is the loss over the whole training split before any
    update, with BatchNorm normalising by that data's own statistics.

    Series, one point per logging interval: ``sat_layer1``... (fraction of each
    layer's tanh outputs with |t| > 0.97 in that step's batch) and ``ud_layer1``...,
    ``ud_output`` (log10 of std(lr * grad) / std(weight): how far the step moved
    each weight matrix, relative to its size; about -3 is healthy).
    """
    g = run.generator()  # draws the initial weights, then every minibatch
    vocab, sets, split = load_splits(run, data, dedup, split_seed, block_size)
    model = MLP(vocab.size, block_size, emb, [hidden] * layers, batchnorm, g, run.device)
    with torch.no_grad():
        for layer in model.hidden:
            layer.weight *= TANH_GAIN / math.sqrt(layer.weight.shape[0])
            if layer.bias is not None:
                layer.bias *= 0
        model.output.weight *= 0.1 / math.sqrt(hidden)
        model.output.bias *= 0
    init_loss = model.nll(*sets["train"], training=True)

    names = [f"layer{i}" for i in range(1, layers + 1)]
    weights = [layer.weight for layer in model.hidden] + [model.output.weight]
    ud_names = [f"ud_{n}" for n in names] + ["ud_output"]
    ud_curve: list[tuple[int, list[float]]] = []  # (step, log10 ratio per weight matrix)

    def watch(step: int, step_lr: float) -> None:
        with torch.no_grad():
            ud = torch.stack([(step_lr * w.grad).std() / w.std() for w in weights]).log10()
            values = torch.cat([_saturation(model.acts), ud]).tolist()  # one read-back
        sat, ud = values[:layers], values[layers:]
        run.log(step, **{f"sat_{n}": s for n, s in zip(names, sat)},
                **dict(zip(ud_names, ud)))
        ud_curve.append((step, ud))

    took = train(run, model, sets, g, steps=steps, batch_size=batch_size,
                  lr=lr, lr_final=lr_final, decay_at=decay_at, watch=watch)

    # Look inside the trained network on a probe of training examples.
    X, Y = sets["train"]
    probe = _probe(run, len(X))
    with torch.no_grad():
        model(X[probe])  # evaluation mode: running statistics
    final_sat = _saturation(model.acts).tolist()
    run.figure("activations", _plot_layer_histograms(
        [a.cpu() for a in model.acts], names, "tanh output",
        [f"{n}: {s:.1%} saturated" for n, s in zip(names, final_sat)]))
    grads = _activation_grads(model, X[probe], Y[probe], batch_size)
    run.figure("gradients", _plot_layer_histograms(
        grads, names, "gradient of the loss at the tanh output",
        [f"{n}: std {gr.std().item():.2e}" for n, gr in zip(names, grads)]))
    run.figure("update_ratio", _plot_update_ratio(ud_curve, names + ["output"]))
    metrics = {
        "init_loss": init_loss,
        "expected_init_loss": math.log(vocab.size),
        "train_nll": model.nll(*sets["train"]),
        "dev_nll": model.nll(*sets["dev"]),
        "test_nll": model.nll(*sets["test"]),
        "params": sum(p.numel() for p in model.parameters()),
        **took,
        "final_sat": sum(final_sat) / layers,  # mean over the layers
        **{f"final_sat_{n}": s for n, s in zip(names, final_sat)},
    }
    keep_split_losses(run, model, sets, split)
    return metrics


def _activation_grads(model: MLP, X: torch.Tensor, Y: torch.Tensor, batch_size: int):
    """Each layer's gradient at its tanh output, for a batch in training mode.

    The loss is summed and divided by ``batch_size``, so each example's gradient
    has the size it has in a training step. No weight is changed.
    """
    loss = F.cross_entropy(model(X, training=True, track=False), Y, reduction="sum") / batch_size
    return [gr.cpu() for gr in torch.autograd.grad(loss, model.acts)]


def _plot_layer_histograms(values: list[torch.Tensor], names: list[str], xlabel: str,
                           labels: list[str] | None = None):
    """One outline histogram per layer, on shared axes (the lectures' layer-by-layer view)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for v, label in zip(values, labels or names):
        counts, edges = torch.histogram(v.flatten().float(), bins=60, density=True)
        centres = ((edges[:-1] + edges[1:]) / 2).tolist()
        ax.plot(centres, counts.tolist(), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _plot_update_ratio(curve: list[tuple[int, list[float]]], names: list[str]):
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    if curve:
        steps, rows = zip(*curve)
        for i, name in enumerate(names):
            ax.plot(steps, [r[i] for r in rows], linewidth=0.8, label=name)
    ax.axhline(-3, color="black", linestyle="--", linewidth=1, label="1e-3 (rule of thumb)")
    ax.set_xlabel("step")
    ax.set_ylabel("log10( std(update) / std(weight) )")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

"""The micrograd demo: a small MLP separates two interleaved half-moons.

``train_moons`` trains the scalar-engine MLP exactly as the demo notebook does.
``dead_neurons`` asks what happens inside the hidden layers when the learning rate
is too large, using torch so that many networks can be trained at once.
"""

from __future__ import annotations

import contextlib
import gc
import random

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from generator.params import NonNegativeFloat, PositiveFloat, PositiveInt  # noqa: E402

from .engine import Value  # noqa: E402
from .nn import MLP  # noqa: E402


def make_moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles with Gaussian noise, labels -1 (upper) and +1 (lower).

    The same construction as scikit-learn's ``make_moons``, written out so the data
    depends only on numpy and ``seed``. Returns X (n, 2) and y (n,).
    """
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)            # centred on (0, 0)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)  # centred on (1, 0.5)
    X = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([-np.ones(n_upper), np.ones(n_lower)])
    order = rng.permutation(n)
    return X[order], y[order]


# -- train_moons: the scalar engine end to end ------------------------------------

def _hinge_loss(model: MLP, X: list[list[float]], y: list[float], alpha: float) -> tuple[Value, float]:
    """Mean max-margin loss plus ``alpha`` * squared weights, and the accuracy."""
    scores = [model(x) for x in X]
    # A point costs nothing once its score has the right sign with a margin of 1.
    margins = [(1 - yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(margins) / len(margins)
    reg_loss = alpha * sum(p * p for p in model.parameters())
    accuracy = sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)
    return data_loss + reg_loss, accuracy


@contextlib.contextmanager
def _cycle_collector_paused():
    """Pause Python's cycle collector, restoring its previous state afterwards.

    A forward pass allocates a few hundred thousand objects, and the collector
    responds with several full sweeps of the heap per step (torch and matplotlib
    included), which made training ~7x slower. The engine's graphs hold no
    reference cycles, so reference counting alone frees each one.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _numpy_scores(model: MLP, points: np.ndarray) -> np.ndarray:
    """The trained model's scores on many points at once (for the boundary plot).

    Building a scalar graph for every grid point would take minutes; this reads the
    weights out of the ``Value``s and does the same arithmetic with matrices.
    """
    h = points
    for layer in model.layers:
        W = np.array([[w.data for w in n.w] for n in layer.neurons])  # (nout, nin)
        b = np.array([n.b.data for n in layer.neurons])                # (nout,)
        h = h @ W.T + b
        act = layer.neurons[0].activation
        h = np.maximum(h, 0.0) if act == "relu" else np.tanh(h) if act == "tanh" else h
    return h[:, 0]


def _plot_boundary(model: MLP, X: np.ndarray, y: np.ndarray):
    fig, ax = plt.subplots(figsize=(5, 4.5))
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], 250), np.linspace(lo[1], hi[1], 250))
    scores = _numpy_scores(model, np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(xx.shape)
    ax.contourf(xx, yy, scores > 0, levels=[-0.5, 0.5, 1.5], cmap="Spectral", alpha=0.6)
    ax.contour(xx, yy, scores, levels=[0.0], colors="black", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Spectral", s=25, edgecolors="black", linewidths=0.5)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("decision boundary (score = 0)")
    return fig


def _plot_loss(steps: list[int], losses: list[float], accuracies: list[float]):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(steps, losses, color="C0", label="loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (hinge + L2)")
    ax.grid(True, which="both", alpha=0.3)
    acc_ax = ax.twinx()
    acc_ax.plot(steps, accuracies, color="C1", label="accuracy")
    acc_ax.set_ylabel("training accuracy")
    acc_ax.set_ylim(0.4, 1.02)
    lines = ax.get_lines() + acc_ax.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    return fig


def train_moons(
    run,
    *,
    hidden: list[int] = (16, 16),
    steps: PositiveInt = 100,
    lr: PositiveFloat = 1.0,
    alpha: NonNegativeFloat = 1e-4,
    n: PositiveInt = 100,
    noise: NonNegativeFloat = 0.1,
    seed_data: int = 0,
):
    """Train a micrograd MLP (2 -> hidden -> 1) on two moons with a hinge loss.

    Full-batch gradient descent with the learning rate falling linearly from ``lr``
    to ``lr / 10``; ``alpha`` weighs the L2 penalty. The data set has its own seed,
    so changing the run's seed changes only the initial weights.
    """
    X_np, y_np = make_moons(n, noise, seed_data)
    X, y = X_np.tolist(), y_np.tolist()
    model = MLP(2, [*hidden, 1], random.Random(run.seed), activation="relu")
    params = model.parameters()
    run.total(steps)

    steps_seen, losses, accuracies = [], [], []
    with _cycle_collector_paused():
        for k in range(steps + 1):  # the extra pass measures the final model, no update
            loss, accuracy = _hinge_loss(model, X, y, alpha)
            steps_seen.append(k)
            losses.append(loss.data)
            accuracies.append(accuracy)
            run.log(k, loss=loss.data, accuracy=accuracy)
            if k == steps:
                break
            model.zero_grad()
            loss.backward()
            step_lr = lr * (1.0 - 0.9 * k / steps)
            for p in params:
                p.data -= step_lr * p.grad
    first_perfect = next((k for k, a in zip(steps_seen, accuracies) if a == 1.0), -1)

    run.figure("boundary", _plot_boundary(model, X_np, y_np))
    run.figure("loss", _plot_loss(steps_seen, losses, accuracies))
    return {
        "loss": losses[-1],
        "accuracy": accuracies[-1],
        "params": len(params),
        "first_perfect_step": first_perfect,
    }


# -- dead_neurons: what a too-large step does to hidden units -------------------------

# A ReLU unit is *dead* on a data set when its output is 0 for every input: then no
# example sends gradient into its weights, and gradient descent cannot revive it.
# A tanh unit is *saturated* when |output| > SATURATED on every input: its local
# gradient 1 - tanh^2 is below 0.02 everywhere, so it learns 50x slower than at 0.
SATURATED = 0.99


def _init_nets(sizes: list[int], nets: int, g: torch.Generator) -> list[torch.Tensor]:
    """Weights and biases for ``nets`` independent MLPs, micrograd's init: U(-1, 1), bias 0."""
    params = []
    for nin, nout in zip(sizes, sizes[1:]):
        params.append(torch.rand(nets, nin, nout, generator=g) * 2 - 1)  # (nets, nin, nout)
        params.append(torch.zeros(nets, 1, nout))                        # (nets, 1, nout)
    return params


def _forward(params: list[torch.Tensor], X: torch.Tensor, act) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Scores (nets, n) of every net on every point, and each hidden layer's outputs."""
    h = X.expand(params[0].shape[0], -1, -1)  # (nets, n, 2)
    hidden = []
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < n_layers - 1:
            h = act(h)  # (nets, n, width)
            hidden.append(h)
    return h.squeeze(-1), hidden


def _inactive_fraction(hidden: list[torch.Tensor], activation: str) -> float:
    """Fraction of hidden units (over all nets and layers) dead or saturated on every input."""
    if activation == "relu":
        flags = [(h <= 0).all(dim=1) for h in hidden]  # (nets, width) per layer
    else:
        flags = [(h.abs() > SATURATED).all(dim=1) for h in hidden]
    return torch.cat(flags, dim=1).float().mean().item()


def _train_nets(params, X, y, act, lr: float, steps: int, alpha: float) -> list[torch.Tensor]:
    """Full-batch descent of every net at once, with train_moons' loss and lr schedule."""
    params = [p.clone().requires_grad_() for p in params]
    for k in range(steps):
        scores, _ = _forward(params, X, act)
        # Summing the per-net losses keeps each net's gradient its own.
        data_loss = torch.relu(1 - y * scores).mean(dim=1).sum()
        reg_loss = alpha * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        (data_loss + reg_loss).backward()
        with torch.no_grad():
            step_lr = lr * (1.0 - 0.9 * k / steps)
            for p in params:
                p -= step_lr * p.grad
    return [p.detach() for p in params]


def dead_neurons(
    run,
    *,
    hidden: list[int] = (16, 16),
    nets: PositiveInt = 20,
    steps: PositiveInt = 100,
    good_lr: PositiveFloat = 1.0,
    big_lr: PositiveFloat = 10.0,
    alpha: NonNegativeFloat = 1e-4,
    n: PositiveInt = 100,
    noise: NonNegativeFloat = 0.1,
    seed_data: int = 0,
):
    """Count dead ReLU and saturated tanh units at init and after training on the moons.

    ``nets`` networks with train_moons' shape, init, loss and schedule are trained
    side by side for each activation and learning rate; fractions are over all of
    their hidden units. ``good_lr`` is the demo's rate; ``big_lr`` is too large.
    """
    X_np, y_np = make_moons(n, noise, seed_data)
    X = torch.tensor(X_np, dtype=torch.float32)
    y = torch.tensor(y_np, dtype=torch.float32)
    sizes = [2, *hidden, 1]
    g = run.generator()
    init = _init_nets(sizes, nets, g)  # relu and tanh nets start from the same weights
    run.total(4)

    results: dict[str, float] = {}
    activations: dict[tuple[str, str], torch.Tensor] = {}
    done = 0
    for activation, act in (("relu", torch.relu), ("tanh", torch.tanh)):
        word = "dead" if activation == "relu" else "saturated"
        trained = {"init": init}
        for label, lr in (("good_lr", good_lr), ("big_lr", big_lr)):
            trained[label] = _train_nets(init, X, y, act, lr, steps, alpha)
            done += 1
            run.progress(done)
        for label, params in trained.items():
            with torch.no_grad():
                scores, hidden_out = _forward(params, X, act)
            results[f"{activation}_{word}_{label}"] = _inactive_fraction(hidden_out, activation)
            if label != "init":
                accuracy = ((scores > 0) == (y > 0)).float().mean().item()
                results[f"{activation}_accuracy_{label}"] = accuracy  # mean over the nets
            activations[(activation, label)] = torch.cat([h.flatten() for h in hidden_out])

    run.figure("activations", _plot_activations(activations, good_lr, big_lr),
               narrow=lambda: _plot_activations(activations, good_lr, big_lr, narrow=True))
    return results


def _plot_activations(activations: dict[tuple[str, str], torch.Tensor], good_lr: float, big_lr: float,
                      narrow: bool = False):
    """Histograms of every hidden output on every input: one row per activation (one column
    per activation, ``narrow``, for a phone's width). The share written on each is of all
    outputs, every unit on every input; a *dead* unit (the metrics) is zero on all of them."""
    titles = {"init": "at init", "good_lr": f"after lr {good_lr:g}", "big_lr": f"after lr {big_lr:g}"}
    if narrow:
        fig, grid = plt.subplots(3, 2, figsize=(4.0, 6.0), sharey="col", layout="constrained")
        axes = grid.T   # axes[activation, stage], as in the wide layout
    else:
        fig, axes = plt.subplots(2, 3, figsize=(10, 5), sharey="row")
    for row, activation in enumerate(("relu", "tanh")):
        for col, label in enumerate(("init", "good_lr", "big_lr")):
            ax = axes[row, col]
            values = activations[(activation, label)].numpy()
            if activation == "relu":
                # Zeros dominate a ReLU histogram; show the positive part and count zeros.
                positive = values[values > 0]
                ax.hist(np.log10(positive) if positive.size else [], bins=50, color="C0")
                ax.set_xlabel("log10(output > 0)" if narrow else "log10(output), outputs > 0")
                ax.text(0.03, 0.9, f"{(values <= 0).mean():.0%} of outputs are 0", transform=ax.transAxes,
                        ha="left", va="top")
            else:
                ax.hist(values, bins=50, range=(-1, 1), color="C1")
                ax.set_xlabel("output")
                ax.text(0.5, 0.9, f"{(np.abs(values) > SATURATED).mean():.0%} beyond ±{SATURATED}",
                        transform=ax.transAxes, ha="center", va="top")
            ax.set_title(f"{activation}, {titles[label]}")
    if not narrow:
        fig.tight_layout()
    return fig

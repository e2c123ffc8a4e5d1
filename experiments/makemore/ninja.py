"""Backprop by hand: week 2's MLP with BatchNorm, its backward pass written out tensor by tensor.

The network is week 2's ``MLP`` with one hidden layer and BatchNorm: embedding C,
a Linear W1 without bias, BatchNorm (gamma, beta), tanh, and a Linear W2, b2 to
the logits. ``forward`` spells the forward pass out one tensor at a time, keeping
every intermediate; ``backward`` walks the same tensors in reverse and writes
each gradient by hand:

- cross-entropy and softmax step by step (log, normalise, exponentiate, subtract
  the max), and again in one line, dlogits = (softmax - one_hot) / n;
- the two Linear layers (a matrix product's gradient is another matrix product);
- tanh (1 - tanh^2);
- BatchNorm in its compact form: one expression for the gradient through the
  batch mean, the batch variance and the normalisation together.

``backprop_check`` compares every hand-written gradient with autograd's and reports
the largest absolute difference per tensor. ``manual_mlp`` trains the network with
either the hand-written gradients or autograd, from the same weights and batches.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from generator.params import PositiveFloat, PositiveInt, Probability

from .clock import Stopwatch
from .deeper import MLP, TANH_GAIN
from .training import batches, every, load_splits

DTYPES = {"float32": torch.float32, "float64": torch.float64}
EPS = 1e-5  # BatchNorm's guard against a zero variance, as in torch.nn


# -- the network, as plain tensors ----------------------------------------------------

def _init(vocab_size: int, block_size: int, emb: int, hidden: int, generator: torch.Generator,
          dtype: torch.dtype, device: str) -> dict[str, torch.Tensor]:
    """Week 2's one-hidden-layer MLP with BatchNorm, Kaiming-initialised as in ``deep_mlp``.

    The weights come from week 2's ``MLP`` class (same draws, same order); the output
    layer starts at 0.1 / sqrt(fan_in) so the first prediction is near uniform.
    """
    model = MLP(vocab_size, block_size, emb, [hidden], True, generator, device)
    (layer,), (norm,) = model.hidden, model.norms
    p = {
        "C": model.C,                                                   # (V, emb)
        "W1": layer.weight * TANH_GAIN / math.sqrt(block_size * emb),   # (block*emb, hidden)
        "gamma": norm.gamma,                                            # (hidden,)
        "beta": norm.beta,                                              # (hidden,)
        "W2": model.output.weight * 0.1 / math.sqrt(hidden),            # (hidden, V)
        "b2": model.output.bias * 0,                                    # (V,)
    }
    return {k: v.detach().to(dtype).requires_grad_() for k, v in p.items()}


def forward(p: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The loss for contexts X (n, block) and targets Y (n,), and every tensor on the way.

    BatchNorm normalises with the batch's own mean and (biased) variance, as in
    training; week 2's ``BatchNorm1d`` and torch.nn do the same.
    """
    n = X.shape[0]
    t = {}
    t["emb"] = p["C"][X]                                      # (n, block, emb)
    t["embcat"] = t["emb"].view(n, -1)                        # (n, block*emb)
    t["hprebn"] = t["embcat"] @ p["W1"]                       # (n, hidden)
    # BatchNorm, one operation at a time
    t["bnmean"] = t["hprebn"].mean(0, keepdim=True)           # (1, hidden)
    t["bndiff"] = t["hprebn"] - t["bnmean"]                   # (n, hidden)
    t["bnvar"] = (t["bndiff"] ** 2).mean(0, keepdim=True)     # (1, hidden)
    t["bnvar_inv"] = (t["bnvar"] + EPS) ** -0.5               # (1, hidden)
    t["bnraw"] = t["bndiff"] * t["bnvar_inv"]                 # (n, hidden)
    t["hpreact"] = p["gamma"] * t["bnraw"] + p["beta"]        # (n, hidden)
    t["h"] = torch.tanh(t["hpreact"])                         # (n, hidden)
    t["logits"] = t["h"] @ p["W2"] + p["b2"]                  # (n, V)
    # cross-entropy, one operation at a time
    t["logit_maxes"] = t["logits"].max(1, keepdim=True).values  # (n, 1), for numerical safety only
    t["norm_logits"] = t["logits"] - t["logit_maxes"]           # (n, V)
    t["counts"] = t["norm_logits"].exp()                        # (n, V)
    t["counts_sum"] = t["counts"].sum(1, keepdim=True)          # (n, 1)
    t["counts_sum_inv"] = t["counts_sum"] ** -1                 # (n, 1)
    t["probs"] = t["counts"] * t["counts_sum_inv"]              # (n, V)
    t["logprobs"] = t["probs"].log()                            # (n, V)
    t["loss"] = -t["logprobs"][torch.arange(n), Y].mean()       # ()
    return t


def backward_step_by_step(t: dict[str, torch.Tensor], Y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The gradient of the loss for each cross-entropy tensor, undoing one operation at a time."""
    n = Y.shape[0]
    d = {}
    d["logprobs"] = torch.zeros_like(t["logprobs"])
    d["logprobs"][torch.arange(n), Y] = -1.0 / n                        # the mean picks n entries
    d["probs"] = d["logprobs"] / t["probs"]                             # d log(x) = dx / x
    d["counts_sum_inv"] = (d["probs"] * t["counts"]).sum(1, keepdim=True)  # broadcast over V: sum back
    d["counts_sum"] = d["counts_sum_inv"] * -t["counts_sum"] ** -2
    d["counts"] = d["probs"] * t["counts_sum_inv"] + d["counts_sum"]    # two uses: gradients add
    d["norm_logits"] = d["counts"] * t["counts"]                        # d exp(x) = exp(x) dx
    d["logit_maxes"] = -d["norm_logits"].sum(1, keepdim=True)
    d["logits"] = d["norm_logits"].clone()
    # the max passes its gradient to the one logit it picked (the sum is ~0: the
    # loss does not depend on the shift, which is why it is safe)
    d["logits"] += F.one_hot(t["logits"].argmax(1), t["logits"].shape[1]).to(t["logits"].dtype) \
        * d["logit_maxes"]
    return d


def backward(p: dict[str, torch.Tensor], t: dict[str, torch.Tensor], X: torch.Tensor,
             Y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every gradient of the loss by hand, with the compact cross-entropy and BatchNorm."""
    n, V = t["logits"].shape
    d = {}
    with torch.no_grad():
        # cross-entropy through softmax in one step: (softmax - one_hot) / n
        d["logits"] = F.softmax(t["logits"], 1)                       # (n, V)
        d["logits"][torch.arange(n), Y] -= 1
        d["logits"] /= n
        # logits = h @ W2 + b2
        d["h"] = d["logits"] @ p["W2"].T                              # (n, hidden)
        d["W2"] = t["h"].T @ d["logits"]                              # (hidden, V)
        d["b2"] = d["logits"].sum(0)                                  # (V,)
        # h = tanh(hpreact)
        d["hpreact"] = (1 - t["h"] ** 2) * d["h"]                     # (n, hidden)
        # hpreact = gamma * bnraw + beta
        d["gamma"] = (t["bnraw"] * d["hpreact"]).sum(0)               # (hidden,)
        d["beta"] = d["hpreact"].sum(0)                               # (hidden,)
        # bnraw = (hprebn - mean) / sqrt(var + eps): through mean, var and the division at once
        dbnraw = p["gamma"] * d["hpreact"]
        d["hprebn"] = t["bnvar_inv"] / n * (
            n * dbnraw - dbnraw.sum(0) - t["bnraw"] * (dbnraw * t["bnraw"]).sum(0))  # (n, hidden)
        # hprebn = embcat @ W1
        d["embcat"] = d["hprebn"] @ p["W1"].T                         # (n, block*emb)
        d["W1"] = t["embcat"].T @ d["hprebn"]                         # (block*emb, hidden)
        d["emb"] = d["embcat"].view(t["emb"].shape)                   # (n, block, emb)
        # emb = C[X]: each row of C collects the gradient of every place it was looked up
        d["C"] = torch.zeros_like(p["C"])
        d["C"].index_add_(0, X.flatten(), d["emb"].flatten(0, 1))     # (V, emb)
    return d


def backprop_check(
    run,
    *,
    dtype: str = "float64",
    block_size: PositiveInt = 3,
    emb: PositiveInt = 10,
    hidden: PositiveInt = 64,
    batch_size: PositiveInt = 32,
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """Every hand-written gradient against autograd's, for one batch of training examples.

    gamma and beta start away from 1 and 0 and b2 away from 0, so that a wrong
    gradient cannot hide behind a trivial value. Metrics ``diff_<tensor>``: the
    largest absolute difference between the two gradients of that tensor;
    ``max_diff`` the largest of them all, ``max_diff_by_steps`` of the step-by-step
    cross-entropy's tensors, ``max_diff_compact`` of the compact backward pass's; ``loss_vs_week2`` how far this forward
    pass's loss is from week 2's ``MLP`` on the same weights and batch.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not known: use one of {', '.join(map(repr, DTYPES))}")
    g = run.generator()
    vocab, sets, _ = load_splits(run, data, dedup, split_seed, block_size)
    p = _init(vocab.size, block_size, emb, hidden, g, DTYPES[dtype], run.device)
    with torch.no_grad():
        p["gamma"] += 0.1 * torch.randn(hidden, generator=g, dtype=p["gamma"].dtype).to(run.device)
        p["beta"] += 0.1 * torch.randn(hidden, generator=g, dtype=p["beta"].dtype).to(run.device)
        p["b2"] += 0.1 * torch.randn(vocab.size, generator=g, dtype=p["b2"].dtype).to(run.device)
    X, Y = sets["train"]
    ix = torch.randint(0, len(X), (batch_size,), generator=g).to(run.device)
    Xb, Yb = X[ix], Y[ix]

    t = forward(p, Xb, Yb)
    for v in t.values():
        v.retain_grad()
    t["loss"].backward()
    auto = {**{k: v.grad for k, v in t.items() if v.grad is not None},
            **{k: v.grad for k, v in p.items()}}
    with torch.no_grad():
        steps = backward_step_by_step(t, Yb)
    steps["logits_by_steps"] = steps.pop("logits")
    auto["logits_by_steps"] = auto["logits"]
    compact = backward(p, t, Xb, Yb)
    manual = {**steps, **compact}
    diffs = {f"diff_{k}": (manual[k] - auto[k]).abs().max().item() for k in sorted(manual)}

    # The same batch through week 2's MLP, in float64, with these weights.
    week2 = MLP(vocab.size, block_size, emb, [hidden], True, torch.Generator(), run.device)
    week2.C, week2.hidden[0].weight = p["C"].detach(), p["W1"].detach()
    week2.norms[0].gamma, week2.norms[0].beta = p["gamma"].detach(), p["beta"].detach()
    week2.output.weight, week2.output.bias = p["W2"].detach(), p["b2"].detach()
    with torch.no_grad():
        week2_loss = F.cross_entropy(week2(Xb, training=True, track=False), Yb).item()

    return {
        **diffs,
        "max_diff": max(diffs.values()),
        "max_diff_by_steps": max(diffs[f"diff_{k}"] for k in steps),
        "max_diff_compact": max(diffs[f"diff_{k}"] for k in compact),
        "loss": t["loss"].item(),
        "loss_vs_week2": abs(t["loss"].item() - week2_loss),
        "tensors": len(diffs),
        "params": sum(v.numel() for v in p.values()),
    }


# -- training with the hand-written gradients ------------------------------------------

def manual_mlp(
    run,
    *,
    manual: bool = True,
    block_size: PositiveInt = 3,
    emb: PositiveInt = 10,
    hidden: PositiveInt = 64,
    steps: PositiveInt = 20_000,
    batch_size: PositiveInt = 32,
    lr: PositiveFloat = 0.1,
    lr_final: PositiveFloat = 0.01,
    decay_at: Probability = 0.5,
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """Train the network with the hand-written gradients (``manual``) or with autograd.

    Either way the weights, the batches and the update are the same, so two runs
    with the same seed differ only by rounding. BatchNorm keeps running averages of
    the batch mean and variance for evaluation, as week 2's does (momentum 0.01).
    Series: ``train_loss`` (mean minibatch loss per logging interval), ``dev_loss``
    (the whole dev split, 50 times per run). ``wall_s``, ``cpu_s``: seconds spent training.
    """
    g = run.generator()
    vocab, sets, _ = load_splits(run, data, dedup, split_seed, block_size)
    p = _init(vocab.size, block_size, emb, hidden, g, torch.float32, run.device)
    running_mean = torch.zeros(1, hidden, device=run.device)
    running_var = torch.ones(1, hidden, device=run.device)
    X, Y = sets["train"]

    def nll(split: str) -> float:
        """Mean NLL over a split, BatchNorm with the running averages."""
        Xs, Ys = sets[split]
        with torch.no_grad():
            hpre = p["C"][Xs].flatten(1) @ p["W1"]
            h = torch.tanh(p["gamma"] * (hpre - running_mean) * (running_var + EPS) ** -0.5 + p["beta"])
            return F.cross_entropy(h @ p["W2"] + p["b2"], Ys).item()

    run.total(steps)
    log_every, eval_every = every(steps), max(1, steps // 50)
    decay_step = int(decay_at * steps)
    running, in_window = 0.0, 0
    clock = Stopwatch()
    for k, ix in enumerate(batches(len(X), batch_size, steps, g, run.device)):
        Xb, Yb = X[ix], Y[ix]
        if manual:
            with torch.no_grad():
                t = forward(p, Xb, Yb)
            grads = backward(p, t, Xb, Yb)
        else:
            t = forward(p, Xb, Yb)
            grads = dict(zip(p, torch.autograd.grad(t["loss"], list(p.values()))))
        step_lr = lr if k < decay_step else lr_final
        with torch.no_grad():
            for name, value in p.items():
                value.add_(grads[name], alpha=-step_lr)
            n = Xb.shape[0]
            running_mean.lerp_(t["bnmean"], 0.01)
            running_var.lerp_(t["bnvar"] * n / (n - 1), 0.01)  # unbiased, as week 2's BatchNorm1d
        running += t["loss"].item()
        in_window += 1
        if in_window == log_every or k == steps - 1:
            run.log(k, train_loss=running / in_window)
            running, in_window = 0.0, 0
        if k % eval_every == 0 or k == steps - 1:
            run.log(k, dev_loss=nll("dev"))
    took = clock.read()

    return {
        "train_nll": nll("train"),
        "dev_nll": nll("dev"),
        "test_nll": nll("test"),
        "params": sum(v.numel() for v in p.values()),
        **took,
    }

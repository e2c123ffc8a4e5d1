"""Week 1: the probability of a name's next character given the one before it.

A bigram model has one parameter per pair of characters: a 27 x 27 table. It can
be counted (the best such table for the training words, up to smoothing) or
learned by gradient descent on the same loss; both are scored on the dev words,
which the model never saw.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # draw to files, never to a window

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from generator.params import PositiveFloat, PositiveInt  # noqa: E402

from .makemore.data import build_dataset, load_split  # noqa: E402


def train(run, *, data: str = "census-first", steps: PositiveInt = 100, lr: PositiveFloat = 50.0,
          split_seed: int = 42):
    """Learn the bigram table by gradient descent and compare it with the counted one.

    Logs the training loss at every step (a chart), reports the dev loss of both
    tables (nats per character) and saves the learned table as a heatmap.
    """
    vocab, split = load_split(run, data, split_seed)
    X, Y = build_dataset(split.train, vocab, block_size=1)      # (N, 1), (N,)
    Xdev, Ydev = build_dataset(split.dev, vocab, block_size=1)

    # counted: how often each character follows each other, plus one (add-one smoothing)
    counts = torch.ones(vocab.size, vocab.size)
    counts.index_put_((X[:, 0], Y), torch.ones(len(Y)), accumulate=True)
    P = counts / counts.sum(dim=1, keepdim=True)
    count_dev_nll = -P[Xdev[:, 0], Ydev].log().mean().item()

    # learned: row i of W holds the logits of the character after character i
    W = (0.01 * torch.randn(vocab.size, vocab.size, generator=run.generator())).requires_grad_()
    run.total(steps)
    for step in range(steps):
        loss = F.cross_entropy(W[X[:, 0]], Y)                   # the whole training set at once
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
        run.log(step, train_nll=loss.item())
    with torch.no_grad():
        dev_nll = F.cross_entropy(W[Xdev[:, 0]], Ydev).item()
        learned = W.softmax(dim=1)
    run.metrics(dev_nll=dev_nll, count_dev_nll=count_dev_nll, train_words=len(split.train))

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(learned.numpy(), cmap="Blues")
    ticks = range(vocab.size)
    ax.set_xticks(ticks, list(vocab.chars), fontsize=7)
    ax.set_yticks(ticks, list(vocab.chars), fontsize=7)
    ax.set_xlabel("next character")
    ax.set_ylabel("previous character")
    run.figure("table", fig)
    plt.close(fig)

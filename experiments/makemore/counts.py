"""Count-based character models: the bigram table and its n-gram generalisation.

A count model estimates P(next | previous n-1 characters) as a ratio of counts
from the training words. Add-k smoothing pretends every continuation was seen k
more times, so unseen pairs get a small probability instead of zero (an infinite
loss on the first dev word that contains one).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from generator.params import PositiveInt  # noqa: E402

from .clock import Stopwatch  # noqa: E402
from .data import Vocab, build_dataset, keep_word_losses, load_split, sample_words  # noqa: E402

N_SAMPLES = 20  # words in each `samples` artifact
METHODS = ("add_k", "interpolated")
_MAX_TABLE = 50_000_000  # entries of the dense count table (float64: 400 MB)


# -- bigram: the 27 x 27 table, as in the first makemore lecture ---------------------------

def bigram_counts(words: list[str], vocab: Vocab) -> torch.Tensor:
    """N[i, j] = how often character j follows character i (boundary included), (V, V)."""
    X, Y = build_dataset(words, vocab, block_size=1)
    N = torch.zeros(vocab.size, vocab.size, dtype=torch.float64)
    N.index_put_((X[:, 0], Y), torch.ones(len(Y), dtype=torch.float64), accumulate=True)
    return N


def bigram_probs(N: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Rows of (N + k), normalised: P[i, j] = P(next = j | previous = i)."""
    smoothed = N + smoothing
    return smoothed / smoothed.sum(dim=1, keepdim=True)


def bigram_nll(P: torch.Tensor, words: list[str], vocab: Vocab) -> float:
    """Mean negative log-likelihood per character (end token included) of ``words``."""
    X, Y = build_dataset(words, vocab, block_size=1)
    return -P[X[:, 0], Y].log().mean().item()


def bigram_losses(P: torch.Tensor, words: list[str], vocab: Vocab) -> torch.Tensor:
    """Each character's negative log-likelihood (end token included), in ``build_dataset``'s order."""
    X, Y = build_dataset(words, vocab, block_size=1)
    return -P[X[:, 0], Y].log()


def bigram(run, *, smoothing: float = 1.0, data: str = "census-first", dedup: bool = False,
           split_seed: int = 42):
    """Bigram counts with add-k smoothing (k = ``smoothing``); no training, only counting.

    Reports the per-character NLL on each split, the table size (vocab^2) as
    ``params``, 20 sampled words and a heatmap of the counts.
    """
    vocab, split = load_split(run, data, split_seed, dedup)
    clock = Stopwatch()
    N = bigram_counts(split.train, vocab)
    P = bigram_probs(N, smoothing)
    took = clock.read()

    samples = sample_words(lambda ctx: P[ctx[:, -1]], vocab, 1, N_SAMPLES, run.generator())
    run.artifact("samples", "\n".join(samples))
    # on a phone's width the cells are too small for their counts: colours and a scale instead
    run.figure("counts", _plot_counts(N, vocab), narrow=lambda: _plot_counts(N, vocab, cells=False))
    metrics = {
        "train_nll": bigram_nll(P, split.train, vocab),
        "dev_nll": bigram_nll(P, split.dev, vocab),
        "test_nll": bigram_nll(P, split.test, vocab),
        "params": vocab.size**2,
        "vocab": vocab.size,
        "train_words": len(split.train),
        **took,
    }
    for name in ("dev", "test"):   # word by word, for paired comparisons with other models
        keep_word_losses(run, f"{name}_nll", bigram_losses(P, getattr(split, name), vocab),
                         getattr(split, name))
    return metrics


def _plot_counts(N: torch.Tensor, vocab: Vocab, cells: bool = True):
    """The count table as a heatmap: with ``cells``, each cell names its pair and count (the
    journal's figure saving gives each label the colour that reads on its cell); without,
    a colour scale instead, for a phone's width."""
    V = vocab.size
    if cells:
        fig, ax = plt.subplots(figsize=(0.4 * V + 1, 0.4 * V + 1))
    else:
        fig, ax = plt.subplots(figsize=(4.0, 4.4), layout="constrained")
    image = ax.imshow(N.numpy(), cmap="Blues")
    if cells:
        for i in range(V):
            for j in range(V):
                # One text per cell (pair above count): text dominates the drawing time.
                label = f"{vocab.chars[i]}{vocab.chars[j]}\n{int(N[i, j])}"
                ax.text(j, i, label, ha="center", va="center", fontsize=5.5, linespacing=1.1)
    else:
        fig.colorbar(image, ax=ax, shrink=0.8, label="count")
        ax.tick_params(labelsize=8)
    ax.set_xticks(range(V), list(vocab.chars))
    ax.set_yticks(range(V), list(vocab.chars))
    ax.set_xlabel("next character")
    ax.set_ylabel("previous character")
    ax.set_title("bigram counts in the training words")
    return fig


# -- n-gram: any context length, smoothing chosen on dev ---------------------------------

class NgramModel:
    """Counts of every order 1..n, turned into P(next | last n-1 characters).

    Two smoothings, both with one constant k:

    - ``add_k``: (c(ctx, y) + k) / (c(ctx) + k V), from the order-n counts only. A
      context never seen in training gets the uniform distribution.
    - ``interpolated``: the same, but the k V pseudo-counts are spread by the order
      n-1 model instead of uniformly: (c(ctx, y) + k V P_{n-1}(y | ctx')) / (c(ctx) + k V),
      where ctx' drops the oldest character, recursively down to a uniform order 0.
      This is a Dirichlet prior centred on the shorter context: a rare context leans
      on its suffix, a frequent one on its own counts.
    """

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, vocab_size: int):
        self.V = vocab_size
        self.n = X.shape[1] + 1
        if self.V**self.n > _MAX_TABLE:
            raise ValueError(f"n={self.n} with {self.V} characters needs a {self.V}^{self.n}-entry "
                             f"table; the dense tables here stop at {_MAX_TABLE:,} entries")
        # tables[m - 1][context index of the last m-1 characters, next] = count, for m = 1..n
        self.tables = []
        for m in range(1, self.n + 1):
            ctx = self._context_index(X, m)
            table = torch.zeros(self.V ** (m - 1), self.V, dtype=torch.float64)
            table.index_put_((ctx, Y), torch.ones(len(Y), dtype=torch.float64), accumulate=True)
            self.tables.append(table)

    def _context_index(self, X: torch.Tensor, m: int) -> torch.Tensor:
        """The last m-1 characters of each context as one base-V number, (N,)."""
        index = torch.zeros(len(X), dtype=torch.long)
        for column in range(self.n - m, self.n - 1):
            index = index * self.V + X[:, column]
        return index

    def probs(self, X: torch.Tensor, k: float, method: str) -> torch.Tensor:
        """P(next | context) for each row of X (N, n-1): (N, V), rows sum to 1."""
        p = torch.full((len(X), self.V), 1.0 / self.V, dtype=torch.float64)  # order 0
        orders = range(1, self.n + 1) if method == "interpolated" else [self.n]
        for m in orders:
            counts = self.tables[m - 1][self._context_index(X, m)]  # (N, V)
            p = (counts + k * self.V * p) / (counts.sum(dim=1, keepdim=True) + k * self.V)
        return p

    def losses(self, X: torch.Tensor, Y: torch.Tensor, k: float, method: str) -> torch.Tensor:
        """Each example's negative log-likelihood, (N,)."""
        return torch.cat([-self.probs(X[start:start + 65536], k, method)
                          [torch.arange(len(X[start:start + 65536])), Y[start:start + 65536]].log()
                          for start in range(0, len(X), 65536)])

    def nll(self, X: torch.Tensor, Y: torch.Tensor, k: float, method: str) -> float:
        total = 0.0
        for start in range(0, len(X), 65536):  # chunks bound memory on big word lists
            p = self.probs(X[start:start + 65536], k, method)
            total -= p[torch.arange(len(p)), Y[start:start + 65536]].log().sum().item()
        return total / len(X)

    @property
    def table_size(self) -> int:
        return self.V**self.n

    @property
    def nonzero_counts(self) -> int:
        return int((self.tables[-1] > 0).sum())


def ngram(
    run,
    *,
    n: PositiveInt = 4,
    smoothing: list[float] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    method: str = "add_k",
    data: str = "census-first",
    dedup: bool = False,
    split_seed: int = 42,
):
    """An n-gram count model whose smoothing constant k is picked on the dev split.

    Every k in ``smoothing`` is tried (one value fixes k); the one with the lowest
    dev NLL is reported and used for the test NLL and the samples. ``method`` is
    "add_k" or "interpolated" (see NgramModel). ``params`` is the size of the full
    table, vocab^n; ``nonzero_counts`` how many of its entries training filled.
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r}: choose one of {', '.join(METHODS)}")
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    grid = [float(smoothing)] if isinstance(smoothing, (int, float)) else [float(k) for k in smoothing]
    if not grid or min(grid) < 0:
        raise ValueError(f"smoothing must be one or more values >= 0, not {smoothing!r}")
    vocab, split = load_split(run, data, split_seed, dedup)
    sets = {name: build_dataset(getattr(split, name), vocab, n - 1) for name in ("train", "dev", "test")}
    clock = Stopwatch()
    model = NgramModel(*sets["train"], vocab.size)

    dev_by_k = [model.nll(*sets["dev"], k, method) for k in grid]
    best = min(range(len(grid)), key=lambda i: dev_by_k[i])
    k = grid[best]
    took = clock.read()  # counting, and choosing k on dev
    for i, (kk, loss) in enumerate(zip(grid, dev_by_k)):
        run.log(i, smoothing=kk, dev_nll=loss)

    samples = sample_words(lambda ctx: model.probs(ctx, k, method), vocab, n - 1, N_SAMPLES, run.generator())
    run.artifact("samples", "\n".join(samples))
    if len(grid) > 1:
        run.figure("smoothing", _plot_smoothing(grid, dev_by_k, k, n, method))
    metrics = {
        "train_nll": model.nll(*sets["train"], k, method),
        "dev_nll": dev_by_k[best],
        "test_nll": model.nll(*sets["test"], k, method),
        "smoothing": k,
        "params": model.table_size,
        "nonzero_counts": model.nonzero_counts,
        **took,
    }
    for name in ("dev", "test"):   # word by word, for paired comparisons with other models
        keep_word_losses(run, f"{name}_nll", model.losses(*sets[name], k, method), getattr(split, name))
    return metrics


def _plot_smoothing(grid: list[float], dev_nll: list[float], best: float, n: int, method: str):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    finite = [(k, v) for k, v in zip(grid, dev_nll) if math.isfinite(v) and k > 0]
    ax.plot([k for k, _ in finite], [v for _, v in finite], "o-", color="C0")
    ax.axvline(best, color="C1", linestyle="--", label=f"chosen k = {best:g}")
    ax.set_xscale("log")
    ax.set_xlabel("smoothing k")
    ax.set_ylabel("dev NLL (nats per character)")
    ax.set_title(f"{n}-gram, {method.replace('_', '-')}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig

"""Words, characters and splits shared by the character-level language models.

A word becomes a sequence of character indices framed by the boundary token '.'
(index 0): "emma" -> . e m m a . A model of block size b sees the b previous
indices (padded with '.') and predicts the next one, so a word of length L gives
L + 1 examples.

The public API, for any experiment of a journal (``from .makemore.data import ...``
in a module of the experiments package, ``from .data import ...`` beside it):

    load_words(run, data)                 the words of a data set: "census-first",
                                          "census-last" (see CENSUS) or a word file
    load_split(run, data, split_seed)     (Vocab, Split): the vocabulary of every word,
                                          and the words cut 80/10/10 into train/dev/test
    split_words(words, split_seed)        that cut alone, for words from elsewhere
    build_dataset(words, vocab, block_size)
                                          X (N, block_size) contexts, Y (N,) next chars
    sample_words(next_probs, vocab, block_size, count, generator)
                                          words drawn from a model, a character at a time
    keep_word_losses(run, metric, losses, words)
                                          a split's metric kept word by word, so that two
                                          models can be compared pair by pair on its words
    Vocab, Split, BOUNDARY, CENSUS        the types and constants these use

A word file read through ``load_words`` is read with ``run.read_text``, so it is
part of the experiment's cache key. Names starting with ``_`` are internal.
(Docstrings and comments are not part of a result's key: editing them re-runs
nothing.)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import names  # the 1990 US Census name lists ship inside this package
import torch

BOUNDARY = "."
_WORD = re.compile(r"[a-z]+")

# Built-in data sets: the ``names`` package's census files (name in the first column).
CENSUS = {
    "census-first": ("dist.female.first", "dist.male.first"),  # first names, both sexes
    "census-last": ("dist.all.last",),                           # surnames
}


@dataclass(frozen=True)
class Vocab:
    """The model's characters: index 0 is the boundary token, then the letters in use."""

    chars: str

    @classmethod
    def from_words(cls, words: list[str]) -> Vocab:
        return cls(BOUNDARY + "".join(sorted(set("".join(words)))))

    @property
    def size(self) -> int:
        return len(self.chars)

    @cached_property
    def index(self) -> dict[str, int]:
        return {ch: i for i, ch in enumerate(self.chars)}

    def encode(self, word: str) -> list[int]:
        return [self.index[ch] for ch in word]

    def decode(self, indices: list[int]) -> str:
        return "".join(self.chars[i] for i in indices)


@dataclass(frozen=True)
class Split:
    train: list[str]
    dev: list[str]
    test: list[str]


def load_words(run, data: str, dedup: bool = False) -> list[str]:
    """The words of a data set, lowercase a-z.

    ``data`` is "census-first" or "census-last" (see CENSUS), or otherwise the path of
    a file with one word per line, relative to the project root. Blank lines are
    skipped and words are lowercased; any other character than a-z is an error that
    names the file and line.

    A word file is used as given: every line, in its order, repeats included, so a
    model sees the same words (and, through ``split_words``, the same split) as any
    other code that reads the file. ``dedup=True`` keeps one copy of each word, sorted.
    The census lists are always de-duplicated and sorted: the female and male first
    names overlap, and a name on both lists is one name.
    """
    if data in CENSUS:
        return sorted(set(_census_words(CENSUS[data])))
    words = _file_words(run, data)
    return sorted(set(words)) if dedup else words


def _census_words(files: tuple[str, ...]) -> list[str]:
    # The package's version is part of the experiment's cache key, so these files
    # need not be hashed one by one through run.read_text.
    folder = resources.files(names)
    words = []
    for file in files:
        for line in (folder / file).read_text(encoding="ascii").splitlines():
            if line.strip():
                words.append(line.split()[0].lower())  # NAME  freq  cumfreq  rank
    return words


def _file_words(run, path: str) -> list[str]:
    words = []
    for number, line in enumerate(run.read_text(path).splitlines(), start=1):
        word = line.strip().lower()
        if not word:
            continue
        if not _WORD.fullmatch(word):
            bad = sorted(set(re.sub("[a-z]", "", word)))
            raise ValueError(
                f"{path}, line {number}: {line.strip()!r} contains {', '.join(map(repr, bad))}; "
                "word files may hold only the letters a-z, one word per line"
            )
        words.append(word)
    if not words:
        raise ValueError(f"{path}: no words (expected one word per line)")
    return words


def split_words(words: list[str], split_seed: int) -> Split:
    """Shuffle with its own seed and cut 80/10/10 into train, dev and test.

    The split depends only on the words (in their order) and ``split_seed``, never
    on the run's seed, so runs with different seeds are scored on the same dev and
    test words. It is the lectures' split: ``random.seed(42); random.shuffle(words)``
    on the same list, then the first 80% and the next 10%.
    """
    shuffled = list(words)
    random.Random(split_seed).shuffle(shuffled)
    n_train, n_dev = int(0.8 * len(shuffled)), int(0.9 * len(shuffled))
    return Split(shuffled[:n_train], shuffled[n_train:n_dev], shuffled[n_dev:])


def load_split(run, data: str, split_seed: int, dedup: bool = False) -> tuple[Vocab, Split]:
    """The vocabulary (from every word, so dev and test have no unknown letters) and the split."""
    words = load_words(run, data, dedup)
    return Vocab.from_words(words), split_words(words, split_seed)


def build_dataset(words: list[str], vocab: Vocab, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (context, next character) pair: X (N, block_size) and Y (N,), both int64."""
    contexts, targets = [], []
    for word in words:
        context = [0] * block_size  # start of word: all boundary tokens
        for ix in vocab.encode(word) + [0]:  # ... and the boundary again to end it
            contexts.append(context)
            targets.append(ix)
            context = context[1:] + [ix]
    X = torch.tensor(contexts, dtype=torch.long).reshape(len(targets), block_size)
    return X, torch.tensor(targets, dtype=torch.long)


def keep_word_losses(run, metric: str, losses: torch.Tensor, words: list[str]) -> None:
    """Keep ``metric`` (a split's mean NLL) word by word, through ``run.examples``: ``losses``
    holds one loss per example of ``build_dataset(words, ...)``, in its order (each of a word's
    characters, then its end marker). A word's value is the sum of its examples' losses and
    its weight their number, so the metric is the sum of the values over the sum of the
    weights; the words themselves name the examples, so that two models scored on the same
    split can be compared word by word (a paired test, in a post's ``{{ check }}``)."""
    counts = [len(w) + 1 for w in words]
    sums = [part.sum().item() for part in torch.split(losses.detach().double().cpu(), counts)]
    run.examples(metric, sums, counts, split=words)


def sample_words(
    next_probs: Callable[[torch.Tensor], torch.Tensor],
    vocab: Vocab,
    block_size: int,
    count: int,
    generator: torch.Generator,
    max_len: int = 30,
) -> list[str]:
    """Draw ``count`` words at once, one character per step, until each emits '.'.

    ``next_probs`` maps contexts (count, block_size) on the CPU to next-character
    probabilities (count, vocab.size). A word still going after ``max_len``
    characters is cut there.
    """
    context = torch.zeros(count, block_size, dtype=torch.long)
    drawn = []
    for _ in range(max_len):
        probs = next_probs(context).float().cpu()
        ix = torch.multinomial(probs, 1, generator=generator)  # (count, 1)
        drawn.append(ix)
        context = torch.cat([context[:, 1:], ix], dim=1)
        if (torch.cat(drawn, dim=1) == 0).any(dim=1).all():
            break  # every word has ended
    words = []
    for row in torch.cat(drawn, dim=1).tolist():
        end = row.index(0) if 0 in row else len(row)
        words.append(vocab.decode(row[:end]))
    return words

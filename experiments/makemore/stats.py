"""What a dataset looks like: how many words, how long, how many training examples.

The posts quote these numbers instead of typing them in, so they stay true if the
data or the split changes.
"""

from __future__ import annotations

from .data import load_split


def dataset(run, *, data: str = "census-first", dedup: bool = False, split_seed: int = 42):
    """Counts for one word list and its fixed 80/10/10 split."""
    vocab, split = load_split(run, data, split_seed, dedup)
    words = split.train + split.dev + split.test
    lengths = sorted(len(w) for w in words)
    return {
        "words": len(words),
        "train_words": len(split.train),
        "dev_words": len(split.dev),
        "test_words": len(split.test),
        # one (context, next character) example per character, plus the end marker
        "train_examples": sum(len(w) + 1 for w in split.train),
        "vocab": vocab.size,
        "mean_length": sum(lengths) / len(lengths),
        "longest": lengths[-1],
    }

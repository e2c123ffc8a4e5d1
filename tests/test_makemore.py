"""makemore: data handling, count models, and the neural models, run on tiny word files."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch

from experiments.makemore.counts import NgramModel, bigram, ngram
from experiments.makemore.data import (
    Vocab,
    build_dataset,
    load_split,
    load_words,
    split_words,
)
from experiments.makemore.neural import bigram_nn, lr_sweep, mlp
from generator.handle import RunHandle

SYLLABLES = ["ba", "del", "ko", "ma", "ne", "lo", "da", "kel", "bo", "na", "em", "ol"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _made_up_words(count: int = 200, seed: int = 0) -> list[str]:
    """Word-like strings over ten letters (a b d e k l m n o and nothing else)."""
    rng = random.Random(seed)
    return sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(count)})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    words = _made_up_words()
    # Mixed case, blank lines and a duplicate: all normalised away by load_words.
    lines = [w.capitalize() if i % 5 == 0 else w for i, w in enumerate(words)] + ["", words[0]]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "words.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def _run(root: Path, name: str = "out", seed: int = 0) -> RunHandle:
    return RunHandle(root / name, seed=seed, root=root)


def _samples(root: Path, name: str = "out") -> list[str]:
    return (root / name / "artifacts" / "samples.txt").read_text(encoding="utf-8").split()


# -- data -------------------------------------------------------------------------

def test_word_file_is_normalised_and_recorded_for_the_cache(project):
    run = _run(project)
    words = load_words(run, "data/words.txt")
    assert words == _made_up_words() + [_made_up_words()[0]]  # as given: in order, repeats kept
    assert list(run.finish()["reads"]) == ["data/words.txt"]


def test_dedup_keeps_one_sorted_copy_of_each_word(project):
    (project / "data" / "shuffled.txt").write_text("emma\nava\nemma\nbob\n", encoding="utf-8")
    assert load_words(_run(project), "data/shuffled.txt") == ["emma", "ava", "emma", "bob"]
    assert load_words(_run(project), "data/shuffled.txt", dedup=True) == ["ava", "bob", "emma"]
    assert load_words(_run(project), "data/words.txt", dedup=True) == _made_up_words()


def test_a_word_file_is_split_as_the_lectures_split_it(project):
    """makemore: random.seed(42); random.shuffle(words); 80% train, 10% dev, 10% test."""
    words = load_words(_run(project), "data/words.txt")
    _, split = load_split(_run(project), "data/words.txt", split_seed=42)
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    assert (split.train, split.dev, split.test) == (words[:n1], words[n1:n2], words[n2:])
    assert len(split.train) + len(split.dev) + len(split.test) == len(_made_up_words()) + 1


def test_vocabulary_comes_from_the_word_file(project):
    vocab, _ = load_split(_run(project), "data/words.txt", split_seed=42)
    assert vocab.chars == ".abdeklmno"
    assert vocab.decode(vocab.encode("kelo")) == "kelo"


def test_a_word_with_other_characters_is_rejected_with_file_and_line(tmp_path):
    (tmp_path / "bad.txt").write_text("anna\nbob\no'neil\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt, line 3: .*\"'\""):
        load_words(_run(tmp_path), "bad.txt")


def test_census_first_names_are_lowercase_letters(tmp_path):
    words = load_words(_run(tmp_path), "census-first")
    assert len(words) > 5000
    assert all(w.isalpha() and w.islower() and w.isascii() for w in words)
    assert words == sorted(set(words))
    assert Vocab.from_words(words).size == 27


def test_split_is_deterministic_disjoint_and_80_10_10():
    words = [f"w{i}" for i in range(1000)]
    first, again = split_words(words, 42), split_words(list(words), 42)
    assert first == again
    assert split_words(list(reversed(words)), 42) != first  # the order given is the order shuffled
    parts = [set(first.train), set(first.dev), set(first.test)]
    assert [len(p) for p in parts] == [800, 100, 100]
    assert set().union(*parts) == set(words)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert split_words(words, 43).dev != first.dev


def test_dataset_frames_each_word_with_boundary_tokens():
    vocab = Vocab.from_words(["ab"])
    X, Y = build_dataset(["ab"], vocab, block_size=2)
    assert X.tolist() == [[0, 0], [0, 1], [1, 2]]  # . . -> a, . a -> b, a b -> .
    assert Y.tolist() == [1, 2, 0]


# -- count models ---------------------------------------------------------------

def test_bigram_on_a_word_file(project):
    run = _run(project)
    m = bigram(run, data="data/words.txt")
    assert m["params"] == 10**2
    assert 0 < m["train_nll"] < m["dev_nll"] < 10
    samples = _samples(project)
    assert len(samples) == 20
    assert set("".join(samples)) <= set("abdeklmno")
    assert run.finish(m)["figures"] == ["counts"]


def test_a_bigram_without_smoothing_has_an_infinite_dev_nll(project):
    run = _run(project)
    m = bigram(run, smoothing=0.0, data="data/words.txt")
    assert math.isfinite(m["train_nll"]) and m["dev_nll"] == math.inf  # a pair unseen in training
    run.finish(m)
    metrics = json.loads((project / "out" / "metrics.json").read_text())
    assert metrics["dev_nll"] == "inf"  # JSON has no infinity


def test_samples_repeat_with_the_seed(project):
    bigram(_run(project, "a", seed=3), data="data/words.txt")
    bigram(_run(project, "b", seed=3), data="data/words.txt")
    bigram(_run(project, "c", seed=4), data="data/words.txt")
    assert _samples(project, "a") == _samples(project, "b") != _samples(project, "c")


@pytest.mark.parametrize("k", [0.1, 1.0])
def test_ngram_with_n_2_is_the_bigram(project, k):
    counts = bigram(_run(project, "bigram"), smoothing=k, data="data/words.txt")
    general = ngram(_run(project, "ngram"), n=2, smoothing=[k], data="data/words.txt")
    for split in ("train_nll", "dev_nll", "test_nll"):
        assert general[split] == pytest.approx(counts[split], abs=1e-9)
    assert general["smoothing"] == k


@pytest.mark.parametrize("method", ["add_k", "interpolated"])
@pytest.mark.parametrize("n", [1, 3])
def test_ngram_distributions_sum_to_one(project, n, method):
    vocab, split = load_split(_run(project), "data/words.txt", 42)
    model = NgramModel(*build_dataset(split.train, vocab, n - 1), vocab.size)
    X, _ = build_dataset(split.dev, vocab, n - 1)
    P = model.probs(X, 0.3, method)
    assert P.shape == (len(X), vocab.size)
    assert torch.allclose(P.sum(dim=1), torch.ones(len(X), dtype=P.dtype))
    assert (P > 0).all()


def test_ngram_picks_the_best_smoothing_on_dev(project):
    run = _run(project)
    grid = [0.01, 0.1, 1.0, 10.0]
    m = ngram(run, n=3, smoothing=grid, data="data/words.txt")
    run.finish(m)
    series = json.loads((project / "out" / "series.json").read_text())
    dev = [v for _, v in series["dev_nll"]]
    assert m["smoothing"] == grid[dev.index(min(dev))]
    assert m["dev_nll"] == pytest.approx(min(dev))
    assert m["params"] == 10**3 and 0 < m["nonzero_counts"] <= 10**3
    assert set("".join(_samples(project))) <= set("abdeklmno")


# -- neural models ----------------------------------------------------------------

def test_bigram_nn_converges_to_the_count_model(project):
    # Without regularisation or smoothing both fit the maximum-likelihood table: the
    # weight matrix can approach the count model's train NLL but not go below it.
    # (lr 50 suits 27 characters; with only ten, the frequent rows oscillate at 50.)
    m = bigram_nn(_run(project), data="data/words.txt", steps=1000, lr=20.0, reg=0.0, smoothing=0.0)
    assert -1e-4 < m["gap"] < 2e-3
    assert m["params"] == 100


def test_bigram_nn_regularisation_plays_the_part_of_smoothing(project):
    run = _run(project)
    m = bigram_nn(run, data="data/words.txt", steps=300)  # reg 0.01, add-1 counts
    assert abs(m["gap"]) < 0.02
    run.finish(m)
    loss = [v for _, v in json.loads((project / "out" / "series.json").read_text())["loss"]]
    assert loss[-1] < loss[0]


def test_mlp_runs_and_counts_its_parameters(project):
    run = _run(project)
    block, emb, hidden, V = 2, 3, 7, 10
    m = mlp(run, data="data/words.txt", block_size=block, emb=emb, hidden=hidden, steps=200)
    assert m["params"] == V * emb + block * emb * hidden + hidden + hidden * V + V
    assert all(0 < m[k] < 50 for k in ("train_nll", "dev_nll", "test_nll"))
    assert set("".join(_samples(project))) <= set("abdeklmno")
    info = run.finish(m)
    assert info["figures"] == ["embedding", "loss"]
    series = json.loads((project / "out" / "series.json").read_text())
    assert {"train_loss", "dev_loss", "lr"} <= set(series)
    assert series["lr"][0][1] == 0.1 and series["lr"][-1][1] == 0.01


def test_mlp_default_size_has_11897_parameters():
    from experiments.makemore.neural import CharMLP

    model = CharMLP(27, 3, 10, 200, torch.Generator().manual_seed(0), "cpu")
    assert sum(p.numel() for p in model.parameters()) == 11_897


def test_mlp_is_reproducible(project):
    a = mlp(_run(project, "a", seed=5), data="data/words.txt", steps=100, hidden=16)
    b = mlp(_run(project, "b", seed=5), data="data/words.txt", steps=100, hidden=16)
    for timing in ("wall_s", "cpu_s"):  # the numbers a seed does not fix
        assert a.pop(timing) > 0 and b.pop(timing) > 0
    assert a == b


def test_lr_sweep_finds_a_rate_inside_the_range(project):
    m = lr_sweep(_run(project), data="data/words.txt", steps=300, hidden=32)
    assert 1e-3 <= m["best_lr"] <= 1.0


def test_dataset_counts_add_up(project):
    from experiments.makemore.stats import dataset

    words = _made_up_words()
    m = dataset(_run(project), data="data/words.txt")
    assert m["words"] == len(words) + 1 == m["train_words"] + m["dev_words"] + m["test_words"]
    assert dataset(_run(project, "dedup"), data="data/words.txt", dedup=True)["words"] == len(words)
    assert m["vocab"] == 10 and m["longest"] == max(len(w) for w in words)
    _, split = load_split(_run(project, "again"), "data/words.txt", split_seed=42)
    assert m["train_examples"] == sum(len(w) + 1 for w in split.train)

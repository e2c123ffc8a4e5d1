"""Week 2: initialisation fixes, a deeper MLP and a hand-written BatchNorm, on a tiny word file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from experiments.makemore.deeper import MLP, BatchNorm1d, deep_mlp, mlp_init
from experiments.makemore.neural import mlp
from tests.wordfiles import V, read_series, run_handle, write_words

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_words(tmp_path)
    return tmp_path


# -- mlp_init ----------------------------------------------------------------------

def test_the_softmax_fix_starts_at_the_uniform_loss(project):
    none = mlp_init(run_handle(project, "none"), fix="none", data="words.txt", steps=20)
    soft = mlp_init(run_handle(project, "soft"), fix="softmax", data="words.txt", steps=20)
    assert soft["expected_init_loss"] == pytest.approx(math.log(V))
    assert abs(soft["init_loss"] - soft["expected_init_loss"]) < 0.1
    assert none["init_loss"] > none["expected_init_loss"] + 3  # confidently wrong
    # The softmax fix leaves the hidden layer as it was: just as saturated.
    assert soft["saturated_init"] == pytest.approx(none["saturated_init"])


def test_scaling_the_hidden_layer_stops_tanh_saturating(project):
    sat = {fix: mlp_init(run_handle(project, fix), fix=fix, data="words.txt", steps=10)["saturated_init"]
           for fix in ("none", "tanh", "kaiming")}
    assert sat["none"] > 0.5
    assert sat["kaiming"] < sat["none"] / 2
    assert sat["tanh"] < sat["none"] / 2


def test_no_fix_is_week_1s_mlp_step_for_step(project):
    """Same seed, same draws, same batches: the same numbers as makemore.mlp."""
    week1 = mlp(run_handle(project, "a", seed=7), data="words.txt", steps=300, hidden=16)
    week2 = mlp_init(run_handle(project, "b", seed=7), fix="none", data="words.txt", steps=300, hidden=16)
    for key in ("train_nll", "dev_nll", "test_nll", "params"):
        assert week2[key] == week1[key]


def test_mlp_init_series_figure_and_metrics(project):
    run = run_handle(project)
    m = mlp_init(run, fix="kaiming", data="words.txt", steps=300)
    info = run.finish(m)
    assert info["figures"] == ["hidden_init"]
    assert set(m) == {"init_loss", "expected_init_loss", "saturated_init", "train_nll", "dev_nll",
                      "test_nll", "params", "wall_s", "cpu_s"}
    assert all(math.isfinite(v) for v in m.values())
    assert m["train_nll"] < m["init_loss"]
    assert set(read_series(project)) == {"train_loss", "dev_loss"}


def test_an_unknown_fix_is_an_error_that_lists_the_choices(project):
    with pytest.raises(ValueError, match="'kaiming'"):
        mlp_init(run_handle(project), fix="xavier", data="words.txt", steps=10)


# -- BatchNorm1d -------------------------------------------------------------------

def test_batchnorm_matches_torch_in_training_and_evaluation():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 6, generator=g) * 3 + 1
    norm = BatchNorm1d(6, "cpu", momentum=0.1)
    norm.gamma, norm.beta = torch.rand(6, generator=g), torch.randn(6, generator=g)
    mean, var = torch.zeros(6), torch.ones(6)
    ours = norm(x, training=True)
    theirs = F.batch_norm(x, mean, var, norm.gamma, norm.beta, training=True, momentum=0.1)
    assert torch.allclose(ours, theirs, atol=1e-5)
    # torch.nn updates its running statistics in place: they must agree with ours.
    assert torch.allclose(norm.running_mean, mean) and torch.allclose(norm.running_var, var)
    assert torch.allclose(norm(x, training=False),
                          F.batch_norm(x, mean, var, norm.gamma, norm.beta, training=False), atol=1e-5)


def test_batchnorm_tracks_statistics_only_when_asked():
    norm = BatchNorm1d(4, "cpu")
    norm(torch.randn(8, 4) + 5, training=True, track=False)
    assert norm.running_mean.tolist() == [0.0] * 4 and norm.running_var.tolist() == [1.0] * 4


def test_in_evaluation_an_example_does_not_depend_on_its_batch():
    g = torch.Generator().manual_seed(0)
    model = MLP(V, 3, 4, [8, 8], True, g, "cpu")
    X = torch.randint(0, V, (64, 3), generator=g)
    for _ in range(50):  # move the running statistics away from 0 and 1
        model(X[torch.randint(0, 64, (16,), generator=g)], training=True)
    alone = torch.cat([model(X[i:i + 1]) for i in range(64)])
    assert torch.allclose(model(X), alone, atol=1e-5)
    assert not torch.allclose(model(X, training=True, track=False), model(X), atol=1e-3)


# -- deep_mlp ----------------------------------------------------------------------

@pytest.mark.parametrize("batchnorm", [False, True])
def test_deep_mlp_logs_the_diagnostics(project, batchnorm):
    run = run_handle(project)
    layers, hidden, emb, block = 3, 16, 10, 3
    m = deep_mlp(run, layers=layers, hidden=hidden, batchnorm=batchnorm, data="words.txt", steps=300)
    info = run.finish(m)
    assert info["figures"] == ["activations", "gradients", "update_ratio"]
    assert all(math.isfinite(v) for v in m.values())
    assert abs(m["init_loss"] - m["expected_init_loss"]) < 0.1  # the output layer starts small
    assert m["dev_nll"] < m["init_loss"]
    names = [f"layer{i}" for i in range(1, layers + 1)]
    assert {f"final_sat_{n}" for n in names} <= set(m)
    assert 0 <= m["final_sat"] <= 1
    # Each Linear has a bias, or is followed by a BatchNorm's gamma and beta.
    per_layer = [block * emb * hidden] + [hidden * hidden] * (layers - 1)
    extra = 2 * hidden if batchnorm else hidden
    assert m["params"] == V * emb + sum(w + extra for w in per_layer) + hidden * V + V

    series = read_series(project)
    expected = ({"train_loss", "dev_loss", "ud_output"} | {f"sat_{n}" for n in names}
                | {f"ud_{n}" for n in names})
    assert set(series) == expected
    assert all(0 <= v <= 1 for _, v in series["sat_layer1"])
    assert -6 < series["ud_layer1"][-1][1] < 0  # an update is a small part of the weight


def test_deep_mlp_series_stay_under_2000_points(project):
    run = run_handle(project)
    run.finish(deep_mlp(run, layers=1, hidden=8, data="words.txt", steps=4500))
    series = read_series(project)
    assert max(len(points) for points in series.values()) <= 2000
    assert series["ud_output"][-1][0] == 4499  # the last step is always logged

"""Week 3: a backward pass written by hand, and a WaveNet-style tree, on a tiny word file."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from experiments.makemore.ninja import _init, backprop_check, backward, forward, manual_mlp
from experiments.makemore.wavenet import Tree, wavenet
from tests.wordfiles import V, read_series, run_handle, write_words

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_words(tmp_path)
    return tmp_path


# -- the backward pass by hand -------------------------------------------------------

def test_every_hand_written_gradient_equals_autograd_in_float64():
    g = torch.Generator().manual_seed(3)
    p = _init(V, 3, 4, 16, g, torch.float64, "cpu")
    with torch.no_grad():  # away from the trivial values a wrong formula could hide behind
        for name in ("gamma", "beta", "b2"):
            p[name] += torch.randn(p[name].shape, generator=g, dtype=torch.float64)
    X, Y = torch.randint(0, V, (20, 3), generator=g), torch.randint(0, V, (20,), generator=g)
    t = forward(p, X, Y)
    assert torch.allclose(t["loss"], F.cross_entropy(t["logits"], Y))
    t["logits"].retain_grad()
    t["hprebn"].retain_grad()
    t["loss"].backward()
    d = backward(p, t, X, Y)
    assert set(p) <= set(d)
    for name in p:
        assert (d[name] - p[name].grad).abs().max() < 1e-6, name
        assert d[name].abs().max() > 1e-4, name  # a gradient of zeros would pass too easily
    for name in ("logits", "hprebn"):
        assert (d[name] - t[name].grad).abs().max() < 1e-6, name


def test_the_check_reports_every_tensor_and_agrees_with_week_2s_network(project):
    m = backprop_check(run_handle(project), data="words.txt", hidden=16, batch_size=20)
    diffs = {k for k in m if k.startswith("diff_")}
    assert {"diff_C", "diff_W1", "diff_gamma", "diff_beta", "diff_hprebn", "diff_logits",
            "diff_logprobs", "diff_logits_by_steps"} <= diffs
    assert m["tensors"] == len(diffs)
    assert m["max_diff"] == max(m[k] for k in diffs) < 1e-12
    assert m["max_diff"] == max(m["max_diff_by_steps"], m["max_diff_compact"])
    assert m["max_diff_compact"] >= m["diff_W1"]
    assert m["loss_vs_week2"] < 1e-12  # the spelled-out forward pass is week 2's MLP
    assert m["params"] == V * 10 + 30 * 16 + 2 * 16 + 16 * V + V


def test_float32_is_close_but_not_exact(project):
    m = backprop_check(run_handle(project), dtype="float32", data="words.txt", hidden=16)
    assert 0 < m["max_diff"] < 1e-5


def test_an_unknown_dtype_lists_the_choices(project):
    with pytest.raises(ValueError, match="'float64'"):
        backprop_check(run_handle(project), dtype="half", data="words.txt")


def test_training_with_manual_gradients_matches_autograd(project):
    run = run_handle(project, "hand", seed=5)
    hand = manual_mlp(run, manual=True, data="words.txt", steps=200, hidden=16)
    run.finish(hand)
    auto = manual_mlp(run_handle(project, "auto", seed=5), manual=False, data="words.txt", steps=200, hidden=16)
    for key in ("train_nll", "dev_nll", "test_nll"):
        assert hand[key] == pytest.approx(auto[key], abs=1e-4)
    assert hand["dev_nll"] < math.log(V) - 0.2  # it learned something
    series = read_series(project, "hand")
    assert set(series) == {"train_loss", "dev_loss"}
    assert series["dev_loss"][-1][0] == 199


# -- the WaveNet-style tree ------------------------------------------------------------

def test_the_lectures_tree_has_76579_parameters():
    model = Tree(27, 8, 24, 128, torch.Generator().manual_seed(0), "cpu")
    assert sum(p.numel() for p in model.parameters()) == 76_579
    assert model(torch.zeros(5, 8, dtype=torch.long), training=True).shape == (5, 27)


def test_the_block_must_fuse_into_one_position():
    with pytest.raises(ValueError, match="power of 2"):
        Tree(V, 6, 4, 8, torch.Generator(), "cpu")


def test_batchnorm_normalises_over_batch_and_positions():
    """The tree's BatchNorm, on (B, T, C), is torch's on the (B, C, T) layout."""
    g = torch.Generator().manual_seed(1)
    model = Tree(V, 4, 3, 6, g, "cpu")
    X = torch.randint(0, V, (16, 4), generator=g)
    fused = model.C[X].reshape(16, 2, 6) @ model.hidden[0].weight  # (B, T, hidden)
    norm = model.norms[0]
    ours = norm(fused.reshape(-1, 6), training=True, track=False).view(16, 2, 6)
    theirs = F.batch_norm(fused.transpose(1, 2), None, None, norm.gamma, norm.beta,
                          training=True).transpose(1, 2)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_wavenet_trains_and_reports(project):
    run = run_handle(project)
    m = wavenet(run, data="words.txt", block_size=4, emb=4, hidden=8, steps=300)
    info = run.finish(m)
    assert info["artifacts"] == ["samples"]
    assert set(m) == {"train_nll", "dev_nll", "test_nll", "params", "wall_s", "cpu_s"}
    assert m["params"] == V * 4 + (8 * 8 + 16) + (16 * 8 + 16) + 8 * V + V
    assert m["dev_nll"] < math.log(V) - 0.2
    assert m["wall_s"] > 0 and m["cpu_s"] > 0
    assert set(read_series(project)) == {"train_loss", "dev_loss"}
    samples = (project / "out" / "artifacts" / "samples.txt").read_text().split()
    assert samples and all(set(w) <= set("abdeklmno") for w in samples)


# -- infinite metrics --------------------------------------------------------------------

def test_an_infinite_metric_is_a_result_rendered_as_infinity(journal):
    journal.write("experiments/limits.py", """
        def unseen(run, *, sign: float = 1.0):
            return {"nll": sign * float("inf"), "finite": 2.5}
    """)
    journal.post("week-1", """
        up: {run: limits.unseen}
        down: {run: limits.unseen, params: {sign: -1.0}}
    """, "Dev NLL {{ up.nll:.3f }} and {{ down.nll }}.\n\n{{ table up down : nll:.2f finite }}\n")
    assert journal.build().ran == 2
    html = journal.html("week-1")
    assert "Dev NLL ∞ and −∞." in html
    assert html.count("∞") == 4
    assert journal.build().ran == 0  # stored and read back, not re-run


# -- scatter: one metric against another --------------------------------------------------

SIZES = '''
def model(run, *, size: int = 10, base: float = 2.0):
    import random
    rng = random.Random(run.seed)
    return {"params": size, "dev_nll": base + 0.1 * rng.random()}
'''


def test_a_scatter_plots_one_metric_against_another_with_seed_bars(journal):
    journal.write("experiments/sizes.py", SIZES)
    journal.post("week-1", """
        small: {run: sizes.model, params: {size: 100}}
        large: {run: sizes.model, params: {size: 10000, base: 1.5}, seeds: 3}
    """, '{{ scatter params dev_nll : small large logx "Dev NLL against size." }}\n\n'
         '{{ table large : params dev_nll }}\n')
    assert journal.build().ran == 4
    html = journal.html("week-1")
    assert "Dev NLL against size." in html
    # a value every seed agrees on is shown once; one that varies, with its spread
    assert "10,000" in html and "10,000 ± 0" not in html and " ± " in html
    assets = journal.root / "site"
    charts = sorted(p for p in assets.rglob("chart-*.light.png") if ".narrow." not in p.name)
    assert len(charts) == 1 and charts[0].stat().st_size > 1000
    # and its phone-width twin beside it
    assert charts[0].with_name(charts[0].name.replace(".light.", ".narrow.light.")).is_file()
    journal.write("experiments/unused.py", "")
    assert journal.build().ran == 0  # drawn from stored metrics: nothing re-runs


@pytest.mark.parametrize("source, message", [
    ("scatter params : a", "the x metric, the y metric, ':', then experiments"),
    ("scatter params dev_nll :", "needs experiments after ':'"),
    ("scatter params dev_nll : a b=1", "cannot read 'b=1'"),
])
def test_a_malformed_scatter_says_what_it_expects(source, message):
    from generator.render.refs import RefSyntaxError, parse

    with pytest.raises(RefSyntaxError, match=re.escape(message)):
        parse(source, 1)

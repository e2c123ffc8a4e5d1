"""micrograd against an oracle: every value and gradient must match PyTorch in float64."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from experiments.micrograd.engine import Value
from experiments.micrograd.moons import dead_neurons, make_moons, train_moons
from experiments.micrograd.nn import MLP
from generator.handle import RunHandle

TOL = 1e-6


pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Each expression is written once and evaluated twice: on micrograd Values and on
# float64 torch tensors, which share the operators and the exp/tanh/relu methods.
EXPRESSIONS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow_int": lambda a, b: a**3,
    "pow_negative": lambda a, b: b**-2,
    "pow_fraction": lambda a, b: (a * a + 1) ** 0.5,
    "exp": lambda a, b: a.exp(),
    "tanh": lambda a, b: a.tanh(),
    "relu": lambda a, b: a.relu(),
    "neg": lambda a, b: -a,
    "radd": lambda a, b: 2.5 + a,
    "rsub": lambda a, b: 2.5 - b,
    "rmul": lambda a, b: 2.5 * a,
    "rtruediv": lambda a, b: 2.5 / b,
    "same_input_twice": lambda a, b: a * a + a,  # gradients must accumulate
    "composite": lambda a, b: (
        ((a * b + b**2).relu() - (a / 4 - 1).tanh()) * (b / 3).exp() + 1 / (1 + (-a).exp())
    ),
    "deep_composite": lambda a, b: _deep(a, b),
}


def _deep(a, b):
    """Reuses intermediates along several paths, like a small network would."""
    c = a * b + 1
    d = c * c - a / (b * b + 1)
    e = (d.relu() + (c - 2).tanh() * 3) ** 2
    f = (e / 10).exp() - 2 * c + d * -0.5
    return f.tanh() + f / (e + 1) + (-c).relu()


INPUTS = [(-4.0, 2.0), (0.5, -3.0), (1.7, 0.3), (-0.8, -2.5), (3.0, 1.25)]


@pytest.mark.parametrize("a,b", INPUTS)
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_value_and_gradients_match_torch(name, a, b):
    expr = EXPRESSIONS[name]
    va, vb = Value(a), Value(b)
    out = expr(va, vb)
    out.backward()

    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tout = expr(ta, tb)
    tout.backward()

    assert out.data == pytest.approx(tout.item(), abs=TOL, rel=TOL)
    for mine, theirs in ((va, ta), (vb, tb)):
        expected = theirs.grad.item() if theirs.grad is not None else 0.0
        assert mine.grad == pytest.approx(expected, abs=TOL, rel=TOL)


def test_relu_at_zero_passes_no_gradient_like_torch():
    v = Value(0.0)
    v.relu().backward()
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    t.relu().backward()
    assert v.grad == t.grad.item() == 0.0


def test_exponent_must_be_a_constant():
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(3.0)


def test_backward_handles_graphs_deeper_than_the_recursion_limit():
    xs = [Value(float(i % 7)) for i in range(5000)]
    total = sum(x * x for x in xs)  # a chain of 5000 additions
    total.backward()
    assert all(x.grad == pytest.approx(2 * x.data) for x in xs)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_forward_and_backward_match_an_equal_torch_model(activation):
    model = MLP(3, [5, 4, 1], random.Random(7), activation=activation)
    inputs = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1], [1.5, 1.5, -0.7], [0.0, -2.0, 0.4]]
    targets = [1.0, -1.0, 0.5, -0.2]

    scores = [model(x) for x in inputs]
    loss = sum((s - t) ** 2 for s, t in zip(scores, targets)) / len(inputs)
    model.zero_grad()
    loss.backward()

    # The same network in torch, with the same weights.
    layers = [
        (
            torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64,
                         requires_grad=True),
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True),
        )
        for layer in model.layers
    ]
    h = torch.tensor(inputs, dtype=torch.float64)
    for i, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = torch.relu(h) if activation == "relu" else torch.tanh(h)
    tloss = ((h[:, 0] - torch.tensor(targets, dtype=torch.float64)) ** 2).mean()
    tloss.backward()

    assert [s.data for s in scores] == pytest.approx(h[:, 0].tolist(), abs=TOL)
    assert loss.data == pytest.approx(tloss.item(), abs=TOL)
    for layer, (W, b) in zip(model.layers, layers):
        for row, neuron in enumerate(layer.neurons):
            assert [w.grad for w in neuron.w] == pytest.approx(W.grad[row].tolist(), abs=TOL)
            assert neuron.b.grad == pytest.approx(b.grad[row].item(), abs=TOL)


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], random.Random(0))
    model([1.0, -1.0]).backward()
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_moons_data_is_deterministic_and_balanced():
    X1, y1 = make_moons(100, 0.1, seed=0)
    X2, y2 = make_moons(100, 0.1, seed=0)
    assert (X1 == X2).all() and (y1 == y2).all()
    assert X1.shape == (100, 2) and sorted(set(y1.tolist())) == [-1.0, 1.0]
    assert (y1 > 0).sum() == 50
    X3, _ = make_moons(100, 0.1, seed=1)
    assert not (X1 == X3).all()


def test_train_moons_separates_the_training_data(tmp_path):
    # Half the default schedule keeps the test near 10 s of pure Python; with seed 0
    # it reaches 100% at step 42 (the full 100 steps: at step 33, loss 0.011).
    run = RunHandle(tmp_path / "out", seed=0, root=tmp_path)
    metrics = train_moons(run, steps=50)
    assert metrics["accuracy"] == 1.0
    assert metrics["params"] == 337
    assert 0 <= metrics["first_perfect_step"] <= 50
    assert metrics["loss"] < 0.05
    info = run.finish(metrics)
    assert info["figures"] == ["boundary", "loss"]
    losses = [v for _, v in json.loads((tmp_path / "out" / "series.json").read_text())["loss"]]
    assert len(losses) == 51 and losses[-1] < losses[0] / 10


def test_dead_neurons_big_learning_rate_kills_relu_units(tmp_path):
    run = RunHandle(tmp_path / "out", seed=0, root=tmp_path)
    m = dead_neurons(run, nets=8, steps=60)
    fractions = {k: v for k, v in m.items() if "_dead_" in k or "_saturated_" in k}
    assert len(fractions) == 6 and all(0.0 <= v <= 1.0 for v in fractions.values())
    assert m["relu_dead_big_lr"] > m["relu_dead_good_lr"]
    assert m["tanh_saturated_big_lr"] > m["tanh_saturated_good_lr"]
    assert not any(math.isnan(v) for v in m.values())

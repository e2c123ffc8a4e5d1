"""Neurons, layers and multi-layer perceptrons on top of the scalar engine."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .engine import Value

ACTIVATIONS = ("relu", "tanh", "linear")


class Module:
    """Anything with parameters: gives them a common ``zero_grad``."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        # backward() accumulates, so the previous step's gradients must go first.
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """``activation(w . x + b)`` for one output."""

    def __init__(self, nin: int, rng: random.Random, activation: str = "relu"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
        # Uniform(-1, 1) weights and a zero bias, as in the micrograd demo.
        self.w = [Value(rng.uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation

    def __call__(self, x: Sequence[Value | float]) -> Value:
        pre = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.activation == "relu":
            return pre.relu()
        if self.activation == "tanh":
            return pre.tanh()
        return pre

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{self.activation.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` independent neurons that all read the same inputs."""

    def __init__(self, nin: int, nout: int, rng: random.Random, activation: str = "relu"):
        self.neurons = [Neuron(nin, rng, activation) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Fully connected layers; hidden ones use ``activation``, the last one is linear.

    A linear output leaves the score unbounded, which is what a margin (hinge) loss
    or a softmax on top expects.
    """

    def __init__(self, nin: int, nouts: Sequence[int], rng: random.Random, activation: str = "relu"):
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], rng, activation if i < len(nouts) - 1 else "linear")
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x  # a single output comes back as a scalar

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

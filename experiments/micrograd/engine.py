"""A scalar autograd engine: one float per node, gradients by reverse-mode chain rule.

Every arithmetic operation on a ``Value`` makes a new ``Value`` that remembers its
inputs and carries a small closure, ``_backward``, that adds its own gradient,
scaled by the local derivative, into those inputs. ``backward()`` orders the graph
so that each node has received all of its gradient before it passes it on, then
runs the closures from the output back to the leaves.

The closure is handed its output node as an argument instead of capturing it. A
closure that captured its own node would make a reference cycle per node, and
only Python's cycle collector could free a finished graph. Without cycles,
reference counting frees a graph as soon as the next step drops it, which lets a
training loop pause the collector (see moons.py) without leaking memory.
"""

from __future__ import annotations

import math


class Value:
    """A scalar in a computation graph, with the gradient of the output w.r.t. it."""

    # Slots keep each node small; a forward pass over the moons data makes ~10^5 of them.
    __slots__ = ("data", "grad", "_backward", "_prev", "_op")

    def __init__(self, data: float, _children: tuple[Value, ...] = (), _op: str = ""):
        self.data = data
        self.grad = 0.0
        self._backward = _no_grad  # a leaf has nothing to pass on
        self._prev = _children
        self._op = _op  # the operation that made this node, for printing graphs

    # -- the primitive operations: forward value, then the backward rule ----

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward(out):
            # d(a + b)/da = d(a + b)/db = 1: the gradient flows through unchanged.
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward(out):
            # d(a * b)/da = b and d(a * b)/db = a: each input gets the other's value.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k: int | float) -> Value:
        # Only constant exponents: enough for squares, square roots and division.
        if not isinstance(k, (int, float)):
            raise TypeError(f"Value ** {type(k).__name__}: the exponent must be an int or float")
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward(out):
            # Power rule: d(a^k)/da = k * a^(k-1).
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward(out):
            # exp is its own derivative, and the forward pass already computed it.
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward(out):
            # d tanh(a)/da = 1 - tanh(a)^2: small once the unit saturates near +-1.
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(self.data if self.data > 0 else 0.0, (self,), "ReLU")

        def _backward(out):
            # Slope 1 where the unit was active, 0 where it was clipped (0 at exactly 0,
            # as PyTorch does).
            if out.data > 0:
                self.grad += out.grad

        out._backward = _backward
        return out

    # -- derived operations: built from the primitives, so no backward of their own --

    def __neg__(self) -> Value:  # -a
        return self * -1

    def __sub__(self, other: Value | float) -> Value:  # a - b
        return self + (-other)

    def __truediv__(self, other: Value | float) -> Value:  # a / b = a * b^-1
        other = other if isinstance(other, Value) else Value(other)
        return self * other**-1

    # Python calls these when the left operand is a plain number: 2 + a, 2 - a, ...
    def __radd__(self, other: float) -> Value:
        return self + other

    def __rsub__(self, other: float) -> Value:
        return Value(other) - self

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rtruediv__(self, other: float) -> Value:
        return Value(other) / self

    # -- reverse-mode differentiation ---------------------------------------

    def backward(self) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        Gradients accumulate (``+=``), because a node used twice gets a contribution
        from each use; call ``zero_grad`` on the parameters between steps.
        """
        order = _topological_order(self)
        self.grad = 1.0  # d(self)/d(self)
        for node in reversed(order):
            node._backward(node)

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"


def _no_grad(out: Value) -> None:
    pass


def _topological_order(root: Value) -> list[Value]:
    """Every node reachable from ``root``, each listed after all of its inputs.

    An explicit stack rather than recursion: the loss of the moons demo sums a few
    hundred terms in a chain, deeper than Python's default recursion limit allows.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)  # all of its inputs were appended before this point
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stack.extend((child, False) for child in node._prev if child not in visited)
    return order

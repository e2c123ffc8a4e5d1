"""micrograd: a scalar autograd engine, a tiny neural-net library, and the moons demo."""

from .moons import dead_neurons, train_moons

__all__ = ["dead_neurons", "train_moons"]

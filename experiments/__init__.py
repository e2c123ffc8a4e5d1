"""The journal's experiments: plain functions ``f(run, *, param=default, ...)``.

Posts name them as ``package.function`` relative to this package, for example
``micrograd.train_moons`` or ``makemore.mlp``.
"""

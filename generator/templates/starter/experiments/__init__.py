"""This journal's experiments: plain functions ``f(run, *, param=default, ...)``.

Posts name them as ``module.function`` relative to this package, for example
``bigram.train`` for the function ``train`` in ``experiments/bigram.py``.
"""

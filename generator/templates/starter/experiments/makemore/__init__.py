"""Shared helpers for character-level language models of names.

``data`` loads the 1990 US Census first names and surnames (from the ``names``
package, so nothing is downloaded) or any word file, splits them into train,
dev and test, and turns words into (context, next character) tensors; see
``experiments/makemore/data.py`` for its public API.
"""

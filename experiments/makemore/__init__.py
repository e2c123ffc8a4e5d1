"""makemore: character-level language models, from bigram counts to an MLP."""

from .counts import bigram, ngram
from .neural import bigram_nn, lr_sweep, mlp

__all__ = ["bigram", "bigram_nn", "lr_sweep", "mlp", "ngram"]

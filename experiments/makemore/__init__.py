"""makemore: character-level language models, from bigram counts to an MLP."""

from .counts import bigram, ngram
from .deeper import deep_mlp, mlp_init
from .neural import bigram_nn, lr_sweep, mlp
from .stats import dataset

__all__ = ["bigram", "bigram_nn", "dataset", "deep_mlp", "lr_sweep", "mlp", "mlp_init", "ngram"]

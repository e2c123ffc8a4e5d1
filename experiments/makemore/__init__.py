"""makemore: character-level language models, from bigram counts to an MLP."""

from .counts import bigram, ngram
from .deeper import deep_mlp, mlp_init
from .neural import bigram_nn, lr_sweep, mlp
from .ninja import backprop_check, manual_mlp
from .stats import dataset
from .wavenet import wavenet

__all__ = ["backprop_check", "bigram", "bigram_nn", "dataset", "deep_mlp", "lr_sweep", "manual_mlp", "mlp",
           "mlp_init", "ngram", "wavenet"]

"""Parameter types an experiment can use in its signature to reject values that make no sense.

    from generator.params import PositiveInt, PositiveFloat, Probability

    def mlp(run, *, steps: PositiveInt = 200_000, lr: PositiveFloat = 0.1, dropout: Probability = 0.0):

They are plain ``int``/``float`` at run time; the journal reads the annotations from
the source before anything runs, so ``steps: -5`` in front matter is an error with
the post's file and line.
"""

from typing import Annotated

PositiveInt = Annotated[int, "> 0"]
NonNegativeInt = Annotated[int, ">= 0"]
PositiveFloat = Annotated[float, "> 0"]
NonNegativeFloat = Annotated[float, ">= 0"]
Probability = Annotated[float, "0..1"]

# name -> (base type, check, what is expected)
RULES = {
    "PositiveInt": ("int", lambda v: v > 0, "a positive integer"),
    "NonNegativeInt": ("int", lambda v: v >= 0, "an integer ≥ 0"),
    "PositiveFloat": ("float", lambda v: v > 0, "a positive number"),
    "NonNegativeFloat": ("float", lambda v: v >= 0, "a number ≥ 0"),
    "Probability": ("float", lambda v: 0 <= v <= 1, "a number from 0 to 1"),
}

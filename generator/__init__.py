"""journal: a static-blog generator for people who learn machine learning in public."""

from generator.handle import RunHandle
from generator.notebook import current_run

__all__ = ["RunHandle", "current_run"]
__version__ = "0.1.0"

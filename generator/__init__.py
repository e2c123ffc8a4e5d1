"""journal: a static-blog generator for people who learn machine learning in public."""

from generator.handle import RunHandle

__all__ = ["RunHandle"]
__version__ = "0.1.0"

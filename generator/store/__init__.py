"""The results store (``results/``: what experiments made, content-addressed, committed to
git) and the journal's lock. The store keeps results; which result a post should use,
and whether it is fresh, is the planner's business (``generator.plan.freshness``)."""

from generator.store.lock import locked
from generator.store.results import Keyed, Result, Store, folder_name

__all__ = ["Keyed", "Result", "Store", "folder_name", "locked"]

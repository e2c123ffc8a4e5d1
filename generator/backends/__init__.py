"""Backends: where experiments run.

A backend schedules jobs (``generator.worker.Job``) and reports what happens to
them; the build commits finished results to the store. ``local`` runs worker
processes on this machine (the default). Another engine is one more module here
implementing ``generator.backends.base.Backend``, and one more name in ``NAMES``.
"""

NAMES = ("local",)

"""journal: a static-blog generator for people who learn machine learning in public."""

__all__ = ["RunHandle", "current_run"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``RunHandle`` and ``current_run`` are imported when first asked for, so that a command
    that needs neither (a warm ``journal build``) does not pay for importing them."""
    if name == "RunHandle":
        from generator.handle import RunHandle

        return RunHandle
    if name == "current_run":
        from generator.current import current_run

        return current_run
    raise AttributeError(f"module 'generator' has no attribute {name!r}")

"""The two terminals a command writes to: ``console`` (stderr: progress, messages, errors)
and ``out`` (stdout: a command's own output, such as ``journal status`` or ``journal diff``)."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

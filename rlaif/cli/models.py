"""``rlaif models list|prepare`` and ``rlaif cache info|clear``

Placeholder until the backends layer lands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

"""``rlaif generate``, ``rlaif critique`` and ``rlaif label``

Placeholder until the judge layer lands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

"""``rlaif eval agreement|rm|policy`` and ``rlaif report``

Placeholder until the evaluation layer lands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

"""``rlaif train sft|rm|ppo|dpo|grpo|rloo`` (placeholder until the training layer lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

"""REINFORCE Leave-One-Out (TRL ``RLOOTrainer``): sample several completions per prompt and use
the mean reward of the others as each one's baseline; reward from the reward model or the AI
judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from rlaif.train.config import coerce_config
from rlaif.train.online import OnlineRLConfig, run_online
from rlaif.train.run_folder import TrainResult


class RLOOTrainConfig(OnlineRLConfig):
    """``rlaif train rloo``."""

    algorithm_fields = ("beta", "normalize_advantages")

    beta: float = Field(default=0.05, ge=0.0)
    """KL coefficient against the reference policy (0: no reference model is loaded)."""
    normalize_advantages: bool = False
    """Normalise advantages to zero mean and unit variance per batch."""


def train_rloo(
    config: RLOOTrainConfig | dict[str, Any] | str | Path,
    *,
    reward_funcs: list[Any] | None = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Run RLOO and write the run folder. ``reward_funcs`` (TRL reward callables or models)
    replaces the configured reward source."""
    from trl import RLOOConfig, RLOOTrainer

    return run_online(
        "rloo",
        coerce_config(RLOOTrainConfig, config),
        RLOOTrainer,
        RLOOConfig,
        reward_funcs=reward_funcs,
        callbacks=callbacks,
    )

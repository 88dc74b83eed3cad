"""Group Relative Policy Optimisation (TRL ``GRPOTrainer``): sample a group of completions per
prompt, score them with the reward model or the AI judge, and push the policy towards the
completions that beat their group's mean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from rlaif.train.config import coerce_config
from rlaif.train.online import OnlineRLConfig, run_online
from rlaif.train.run_folder import TrainResult


class GRPOTrainConfig(OnlineRLConfig):
    """``rlaif train grpo``."""

    algorithm_fields = ("beta", "loss_type", "scale_rewards")

    beta: float = Field(default=0.0, ge=0.0)
    """KL coefficient against the reference policy (0: no reference model is loaded)."""
    loss_type: str = "dapo"
    """TRL GRPO loss normalisation (``grpo``, ``dapo``, ``dr_grpo``, ``bnpo``, ...)."""
    scale_rewards: str = "group"
    """Divide advantages by the reward std of the ``group``, the ``batch``, or ``none``."""


def train_grpo(
    config: GRPOTrainConfig | dict[str, Any] | str | Path,
    *,
    reward_funcs: list[Any] | None = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Run GRPO and write the run folder. ``reward_funcs`` (TRL reward callables or models)
    replaces the configured reward source."""
    from trl import GRPOConfig, GRPOTrainer

    return run_online(
        "grpo",
        coerce_config(GRPOTrainConfig, config),
        GRPOTrainer,
        GRPOConfig,
        reward_funcs=reward_funcs,
        callbacks=callbacks,
    )

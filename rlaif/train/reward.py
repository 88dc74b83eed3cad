"""Reward-model training on AI preference labels (TRL ``RewardTrainer``).

The base is the SFT policy loaded as a one-label ``AutoModelForSequenceClassification`` (a fresh
score head on the policy's backbone), so the reward and value models share the policy's
tokenizer, as TRL's PPO requires.

Soft labels. TRL's loss is ``-log σ(r_chosen - r_rejected - margin)`` when the dataset has a
``margin`` column. ``label_mode: margin`` sets ``margin = margin_scale * (2 p_chosen - 1)``, so a
confident label asks for a larger reward gap than a coin flip; ``label_mode: hard`` drops the
margin (every pair counts the same). Either way ``min_confidence`` can drop low-confidence pairs
and ``drop_inconsistent`` pairs whose two presentation orders disagreed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from rlaif.data import DataFileError
from rlaif.models.local import RewardScorer
from rlaif.train.config import PreferenceTrainConfig, coerce_config
from rlaif.train.data import preference_rows, split_holdout
from rlaif.train.loading import load_reward_model, load_tokenizer
from rlaif.train.run_folder import TrainResult, finish, fit
from rlaif.train.scoring import RewardAccuracy, pairwise_accuracy


class RewardTrainConfig(PreferenceTrainConfig):
    """``rlaif train rm``: a reward model on AI preference pairs."""

    label_mode: Literal["margin", "hard"] = "margin"
    """``margin``: use the soft label as a required reward gap; ``hard``: plain Bradley–Terry."""
    margin_scale: float = Field(default=1.0, ge=0.0)
    """Multiplies ``2 p_chosen - 1`` to give the margin (``label_mode: margin``)."""
    center_rewards_coefficient: float | None = Field(default=None, ge=0.0)
    """Weight of the penalty that keeps rewards centred on zero (TRL suggests 0.01)."""
    max_length: int | None = Field(default=1024, ge=8)
    """Pairs longer than this are left out of training (TRL's filter)."""
    eval_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    """Fraction of the AI-labelled pairs held out to measure accuracy."""
    human_eval: str | None = None
    """Human-labelled pairs (``prompt`` messages, ``chosen``/``rejected`` strings or messages)
    to measure accuracy on, side by side with the AI held-out accuracy."""
    human_eval_limit: int | None = Field(default=None, ge=1)
    """Use only the first N human-labelled pairs."""
    eval_batch_size: int = Field(default=8, ge=1)
    """Sequences per forward pass when measuring accuracy."""


def _with_margins(config: RewardTrainConfig, rows: list[dict[str, Any]]) -> list[str]:
    """Add the ``margin`` column when soft labels are used; returns the dataset columns."""
    columns = ["prompt", "chosen", "rejected"]
    if config.label_mode == "hard":
        return columns
    missing = next((row["id"] for row in rows if row["p_chosen"] is None), None)
    if missing is not None:
        raise DataFileError(
            f"{config.dataset}: pair {missing} has no p_chosen or margin; set label_mode: hard "
            "to train on hard labels"
        )
    for row in rows:
        row["margin"] = config.margin_scale * (2.0 * row["p_chosen"] - 1.0)
    return [*columns, "margin"]


def train_reward_model(
    config: RewardTrainConfig | dict[str, Any] | str | Path,
    *,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Train the reward model, measure held-out (and human) accuracy, write the run folder."""
    from trl import RewardConfig, RewardTrainer

    config = coerce_config(RewardTrainConfig, config)
    rows, stats = config.training_pairs()
    human_rows = None
    if config.human_eval is not None:
        human_rows, _ = preference_rows(config.human_eval, limit=config.human_eval_limit)
    train_rows, heldout_rows = split_holdout(rows, config.eval_fraction, config.seed)
    columns = _with_margins(config, train_rows)

    tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
    model = load_reward_model(config.model, tokenizer, **config.model_options())
    ours = {
        **config.base_trl_kwargs(),
        "max_length": config.max_length,
        "center_rewards_coefficient": config.center_rewards_coefficient,
    }
    fitted = fit(
        RewardTrainer,
        config,
        RewardConfig,
        ours,
        callbacks=callbacks,
        lora_task="reward",
        columns=columns,
        train_rows=train_rows,
        model=model,
        processing_class=tokenizer,
    )
    extra: dict[str, Any] = {
        "label_mode": config.label_mode,
        "data": {**stats.as_dict(), "train": len(train_rows), "heldout": len(heldout_rows)},
        "accuracy": _accuracies(fitted.trainer, config, heldout_rows, human_rows).model_dump(
            mode="json"
        ),
    }
    return finish(fitted, config, "rm", extra)


def _accuracies(
    trainer: Any,
    config: RewardTrainConfig,
    heldout: list[dict[str, Any]],
    human: list[dict[str, Any]] | None,
) -> RewardAccuracy:
    """Held-out AI-label accuracy and human-label accuracy, measured on the main process."""
    results = RewardAccuracy()
    if trainer.accelerator.is_main_process:
        model = trainer.accelerator.unwrap_model(trainer.model)
        scorer = RewardScorer(model, trainer.processing_class, max_length=config.max_length)
        batch_size = config.eval_batch_size
        if heldout:
            results.ai_heldout = pairwise_accuracy(scorer, heldout, batch_size=batch_size)
        if human is not None:
            results.human = pairwise_accuracy(
                scorer, human, batch_size=batch_size, file=config.human_eval
            )
    trainer.accelerator.wait_for_everyone()
    return results

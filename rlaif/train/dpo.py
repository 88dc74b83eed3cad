"""Direct preference optimisation on the AI preference pairs (TRL ``DPOTrainer``): the
off-policy route, with no reward model and no sampling during training.

Soft labels: ``min_confidence`` and ``drop_inconsistent`` filter pairs as for the reward model;
``label_smoothing: from_labels`` sets TRL's flip probability to the judge's mean uncertainty,
``mean(1 - p_chosen)``, for the losses that read it (``robust``, ``exo_pair``, ``aot``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from rlaif.errors import ConfigError
from rlaif.train.config import PreferenceTrainConfig, coerce_config
from rlaif.train.data import split_holdout
from rlaif.train.fused_head import during_training
from rlaif.train.loading import load_tokenizer, load_training_lm
from rlaif.train.run_folder import TrainResult, finish, fit, last_logged

SMOOTHED_LOSSES = {"robust", "exo_pair", "aot"}
"""TRL DPO losses that use ``label_smoothing``."""


class DPOTrainConfig(PreferenceTrainConfig):
    """``rlaif train dpo``: optimise the policy directly on preference pairs."""

    learning_rate: float = Field(default=5e-7, gt=0.0)
    """Peak learning rate of AdamW."""
    ref_model: str | None = None
    """Reference policy (default: a frozen copy of ``model``; with LoRA the adapter-free base)."""
    beta: float = Field(default=0.1, gt=0.0)
    """Strength of the pull towards the reference policy."""
    loss_type: list[str] = Field(default_factory=lambda: ["sigmoid"])
    """TRL DPO loss(es): ``sigmoid`` (DPO), ``robust``, ``ipo``, ``exo_pair``, ``hinge``, ..."""
    label_smoothing: float | Literal["from_labels"] = 0.0
    """Assumed label-flip probability for ``robust``/``exo_pair``/``aot``; ``from_labels`` takes
    the mean of ``1 - p_chosen`` over the training pairs."""
    max_length: int | None = Field(default=1024, ge=8)
    """Truncate prompt + response to this many tokens."""
    eval_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    """Hold out this fraction of pairs; TRL's reward accuracy on them goes to metrics.json."""


def _label_smoothing(config: DPOTrainConfig, rows: list[dict[str, Any]]) -> float:
    uses_it = SMOOTHED_LOSSES & set(config.loss_type)
    if config.label_smoothing == "from_labels":
        if not uses_it:
            raise ConfigError(
                "label_smoothing: from_labels needs a loss that reads it "
                f"({sorted(SMOOTHED_LOSSES)})"
            )
        soft = [row["p_chosen"] for row in rows if row["p_chosen"] is not None]
        if not soft:
            raise ConfigError(f"{config.dataset}: no p_chosen to derive label_smoothing from")
        return min(0.49, sum(1.0 - p for p in soft) / len(soft))
    if config.label_smoothing and not uses_it:
        raise ConfigError(
            f"label_smoothing is ignored by loss_type {config.loss_type}; "
            f"use one of {sorted(SMOOTHED_LOSSES)}"
        )
    return float(config.label_smoothing)


@during_training
def train_dpo(
    config: DPOTrainConfig | dict[str, Any] | str | Path, *, callbacks: list[Any] | None = None
) -> TrainResult:
    """Run DPO and write the run folder."""
    from trl import DPOConfig, DPOTrainer

    config = coerce_config(DPOTrainConfig, config)
    rows, stats = config.training_pairs()
    train_rows, eval_rows = split_holdout(rows, config.eval_fraction, config.seed)
    smoothing = _label_smoothing(config, train_rows)
    common = config.model_options()
    tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
    model = load_training_lm(config.model, tokenizer, **common)
    ref = None
    if config.ref_model is not None and config.lora is None:
        ref = load_training_lm(config.ref_model, tokenizer, **common)
    ours = {
        **config.base_trl_kwargs(),
        "beta": config.beta,
        "loss_type": config.loss_type,
        "label_smoothing": smoothing,
        "max_length": config.max_length,
    }
    fitted = fit(
        DPOTrainer,
        config,
        DPOConfig,
        ours,
        callbacks=callbacks,
        columns=["prompt", "chosen", "rejected"],
        train_rows=train_rows,
        eval_rows=eval_rows,
        model=model,
        ref_model=ref,
        processing_class=tokenizer,
    )
    trainer = fitted.trainer
    extra: dict[str, Any] = {
        "label_smoothing": smoothing,
        "last_train_reward_accuracy": last_logged(trainer.state.log_history, "rewards/accuracies"),
        "data": {**stats.as_dict(), "train": len(train_rows), "heldout": len(eval_rows)},
    }
    if eval_rows:
        evaluation = trainer.evaluate()
        extra["heldout"] = {
            key.removeprefix("eval_"): value
            for key, value in evaluation.items()
            if key in ("eval_loss", "eval_rewards/accuracies", "eval_rewards/margins")
        }
    return finish(fitted, config, "dpo", extra)

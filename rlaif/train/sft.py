"""Supervised fine-tuning on critique-and-revise records (TRL ``SFTTrainer``).

Each record's ``messages`` end in the final revision. By default the conversation before it is
the prompt and the revision the completion, so the loss falls on the assistant's revised turn
only (TRL's completion-only loss), whatever the model's chat template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from rlaif.errors import ConfigError
from rlaif.train.config import TrainConfig, coerce_config
from rlaif.train.data import sft_rows, split_holdout
from rlaif.train.fused_head import during_training
from rlaif.train.loading import load_tokenizer, load_training_lm
from rlaif.train.run_folder import TrainResult, finish, first_logged, fit
from rlaif.train.sampling import LengthGroupedBatches


class SFTTrainConfig(TrainConfig):
    """``rlaif train sft``: fine-tune the policy on the revised responses."""

    learning_rate: float = Field(default=2e-5, gt=0.0)
    """Peak learning rate of AdamW."""
    loss_on: Literal["completion", "assistant", "all"] = "completion"
    """Which tokens carry the loss: ``completion`` the final (revised) assistant turn;
    ``assistant`` every assistant turn (needs a chat template with ``{% generation %}`` markers,
    or one TRL knows how to patch); ``all`` the whole conversation."""
    max_length: int | None = Field(default=1024, ge=8)
    """Truncate tokenized conversations to this many tokens (``None``: no limit)."""
    eval_fraction: float = Field(default=0.0, ge=0.0, lt=1.0)
    """Hold out this fraction of records and report their loss in metrics.json."""
    group_by_length: bool = True
    """Batch examples of similar length, in random batch order, so that less of each batch is
    padding (:mod:`rlaif.train.sampling`; 10% fewer tokens computed on the quickstart's data)."""


def _rows_for(loss_on: str, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    if loss_on == "completion":
        split = [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]
        return split, ["prompt", "completion"]
    return rows, ["messages"]


@during_training
def train_sft(
    config: SFTTrainConfig | dict[str, Any] | str | Path, *, callbacks: list[Any] | None = None
) -> TrainResult:
    """Run SFT and write the run folder; returns its metrics."""
    from trl import SFTConfig, SFTTrainer

    config = coerce_config(SFTTrainConfig, config)
    rows, stats = sft_rows(config.dataset, limit=config.limit)
    train_rows, eval_rows = split_holdout(rows, config.eval_fraction, config.seed)
    shaped_train, columns = _rows_for(config.loss_on, train_rows)
    shaped_eval, _ = _rows_for(config.loss_on, eval_rows)

    tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
    if config.loss_on == "assistant":
        _check_assistant_masks(tokenizer, config.model)
    model = load_training_lm(config.model, tokenizer, **config.model_options())
    ours = {
        **config.base_trl_kwargs(),
        "max_length": config.max_length,
        "completion_only_loss": config.loss_on == "completion",
        "assistant_only_loss": config.loss_on == "assistant",
        "packing": False,
    }
    fitted = fit(
        _length_grouped(SFTTrainer) if config.group_by_length else SFTTrainer,
        config,
        SFTConfig,
        ours,
        callbacks=callbacks,
        columns=columns,
        train_rows=shaped_train,
        eval_rows=shaped_eval,
        model=model,
        processing_class=tokenizer,
    )
    trainer = fitted.trainer
    extra: dict[str, Any] = {
        "first_logged_loss": first_logged(trainer.state.log_history, "loss"),
        "data": {**stats.as_dict(), "train": len(train_rows), "eval": len(eval_rows)},
    }
    if shaped_eval:
        extra["eval_loss"] = trainer.evaluate()["eval_loss"]
    return finish(fitted, config, "sft", extra)


def _length_grouped(trainer_class: type) -> type:
    """``trainer_class`` drawing its training batches from :class:`LengthGroupedBatches` over
    the tokenized examples' lengths."""

    class LengthGroupedSFTTrainer(trainer_class):
        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            dataset = self.train_dataset if train_dataset is None else train_dataset
            lengths = [len(ids) for ids in dataset["input_ids"]]
            return LengthGroupedBatches(
                lengths, self.args.per_device_train_batch_size, seed=self.args.seed
            )

    return LengthGroupedSFTTrainer


def _check_assistant_masks(tokenizer: Any, model: str) -> None:
    """``loss_on: assistant`` needs a chat template that marks assistant tokens."""
    from trl.chat_template_utils import get_training_chat_template

    try:
        get_training_chat_template(tokenizer)
    except ValueError:
        raise ConfigError(
            f"loss_on: assistant needs a chat template with {{% generation %}} markers, and TRL "
            f"cannot patch the one of {model}; use loss_on: completion (the final turn) instead"
        ) from None

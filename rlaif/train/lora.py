"""LoRA through ``peft``: our settings as a ``LoraConfig`` the TRL trainers accept."""

from __future__ import annotations

from typing import Any, Literal

from rlaif.train.config import LoraSettings


def peft_config(
    settings: LoraSettings | None, task: Literal["causal_lm", "reward"] = "causal_lm"
) -> Any:
    """A ``peft.LoraConfig`` for ``settings`` (``None`` when LoRA is off).

    For reward models the fresh score head is trained in full (``modules_to_save``), as TRL
    recommends; only the backbone gets low-rank adapters."""
    if settings is None:
        return None
    from peft import LoraConfig, TaskType

    return LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
        task_type=TaskType.SEQ_CLS if task == "reward" else TaskType.CAUSAL_LM,
        modules_to_save=["score"] if task == "reward" else None,
    )

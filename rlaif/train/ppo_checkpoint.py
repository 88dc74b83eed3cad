"""PPO checkpoints: ``output_dir/checkpoint-N/`` holds the policy and tokenizer (a model folder
``rlaif eval policy`` can load) and, under ``training_state/``, what a resumed run needs: the
weights of the policy and value function, the optimizer, the learning-rate schedule and every
process's random states (``accelerator.save_state``), the trainer state and the KL coefficient."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerState

from rlaif.errors import ConfigError

STATE_FOLDER = "training_state"
"""Inside ``checkpoint-N/``: ``accelerator.save_state``'s files and ``ppo_state.json``."""


def save_checkpoint(trainer: Any) -> Path:
    """Write ``checkpoint-<global step>/`` for ``trainer`` (a collective call)."""
    folder = Path(trainer.config.output_dir) / f"checkpoint-{trainer.state.global_step}"
    trainer.save_model(str(folder))
    accelerator = trainer.accelerator
    if accelerator.is_main_process:
        trainer.processing_class.save_pretrained(folder)
    accelerator.save_state(str(folder / STATE_FOLDER))
    if accelerator.is_main_process:
        extra = {"kl_coef": trainer.kl.value}
        (folder / STATE_FOLDER / "ppo_state.json").write_text(json.dumps(extra) + "\n")
        trainer.state.save_to_json(str(folder / STATE_FOLDER / "trainer_state.json"))
    accelerator.wait_for_everyone()
    return folder


def load_checkpoint(trainer: Any, checkpoint: bool | str) -> None:
    """Restore ``trainer`` from a checkpoint folder (``True``: the latest in ``output_dir``)."""
    folder = (
        Path(checkpoint)
        if isinstance(checkpoint, str)
        else latest_checkpoint(Path(trainer.config.output_dir))
    )
    state_dir = folder / STATE_FOLDER
    if not (state_dir / "trainer_state.json").is_file():
        raise ConfigError(f"{folder}: not a PPO checkpoint (no {STATE_FOLDER}/trainer_state.json)")
    trainer.accelerator.load_state(str(state_dir))
    saved = TrainerState.load_from_json(str(state_dir / "trainer_state.json"))
    trainer.state.global_step = saved.global_step
    trainer.state.epoch = saved.epoch
    trainer.state.log_history = saved.log_history
    trainer.kl.value = json.loads((state_dir / "ppo_state.json").read_text())["kl_coef"]


def latest_checkpoint(output_dir: Path) -> Path:
    """The ``checkpoint-N`` folder of ``output_dir`` with the highest N."""
    found = [p for p in output_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    if not found:
        raise ConfigError(f"{output_dir}: no checkpoint-N folder to resume from")
    return max(found, key=lambda p: int(p.name.split("-")[-1]))

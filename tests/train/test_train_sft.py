"""SFT on critique-and-revise records: weights change, loss on the revised turn only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from train_helpers import changed_tensors
from transformers import TrainerCallback

from rlaif.errors import ConfigError
from rlaif.train import train_sft


class _FirstBatch(TrainerCallback):
    def __init__(self) -> None:
        self.batch: dict[str, Any] | None = None
        self.sampler = ""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        loader = kwargs["train_dataloader"]
        self.sampler = type(loader.batch_sampler.sampler).__name__
        self.batch = next(iter(loader))


def test_sft_trains_on_the_revision_only(tiny_policy: Path, data_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    probe = _FirstBatch()
    result = train_sft(
        {
            "model": str(tiny_policy),
            "dataset": str(data_dir / "sft.jsonl"),
            "output_dir": str(tmp_path / "sft"),
            "max_steps": 2,
            "learning_rate": 1e-3,
            "per_device_train_batch_size": 2,
            "logging_steps": 1,
            "eval_fraction": 0.25,
        },
        callbacks=[probe],
    )
    out = result.output_dir
    assert result.metrics["global_step"] == 2
    assert changed_tensors(tiny_policy, out), "no weight changed"
    for name in ("config.json", "tokenizer.json", "rlaif_train.yaml", "log_history.jsonl"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == {"read": 8, "kept": 8, "dropped": {}, "train": 6, "eval": 2}
    assert metrics["eval_loss"] > 0

    # The loss mask covers the assistant's revision and nothing of the user turn.
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert probe.batch is not None
    ids, labels = probe.batch["input_ids"][0], probe.batch["labels"][0]
    trained = tokenizer.decode(ids[labels != -100])
    assert "I'm sorry, but I can't help with that request." in trained
    assert "How do I" not in trained and "user" not in trained
    assert probe.sampler == "LengthGroupedBatches"  # group_by_length, the default


def test_assistant_loss_needs_a_marked_template(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="generation"):
        train_sft(
            {
                "model": str(tiny_policy),
                "dataset": str(data_dir / "sft.jsonl"),
                "output_dir": str(tmp_path / "sft"),
                "loss_on": "assistant",
            }
        )


def test_resume_from_checkpoint(tiny_policy: Path, data_dir: Path, tmp_path: Path) -> None:
    config = {
        "model": str(tiny_policy),
        "dataset": str(data_dir / "sft.jsonl"),
        "output_dir": str(tmp_path / "sft"),
        "max_steps": 2,
        "save_steps": 1,
        "learning_rate": 1e-3,
        "per_device_train_batch_size": 2,
        "logging_steps": 1,
    }
    train_sft(config)
    assert (tmp_path / "sft" / "checkpoint-2").is_dir()
    resumed = train_sft({**config, "max_steps": 3, "resume_from_checkpoint": True})
    assert resumed.metrics["global_step"] == 3
    # Only the third step ran in the resumed process.
    steps = json.loads((tmp_path / "sft" / "step_seconds.json").read_text())["wall"]
    assert len(steps) == 1

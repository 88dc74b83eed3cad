"""DPO (off-policy), GRPO and RLOO (on-policy, reward model as reward_funcs): each runs at least
two optimizer steps and changes the weights; configuration mistakes give clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from train_helpers import changed_tensors

from rlaif.errors import ConfigError
from rlaif.train import train_dpo, train_grpo, train_rloo


def _common(policy: Path, out: Path) -> dict[str, Any]:
    return {
        "model": str(policy),
        "output_dir": str(out),
        "max_steps": 2,
        "learning_rate": 1e-3,
        "per_device_train_batch_size": 4,
        "logging_steps": 1,
    }


def test_dpo_trains_and_reports_heldout(tiny_policy: Path, data_dir: Path, tmp_path: Path) -> None:
    result = train_dpo(
        {
            **_common(tiny_policy, tmp_path / "dpo"),
            "dataset": str(data_dir / "prefs.jsonl"),
            "max_length": 64,
            "eval_fraction": 0.25,
            "loss_type": ["robust"],
            "label_smoothing": "from_labels",
        }
    )
    assert result.metrics["global_step"] == 2
    assert changed_tensors(tiny_policy, result.output_dir)
    assert 0.0 < result.metrics["label_smoothing"] < 0.5
    assert set(result.metrics["heldout"]) == {"loss", "rewards/accuracies", "rewards/margins"}


def test_dpo_refuses_smoothing_its_loss_ignores(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="ignored by loss_type"):
        train_dpo(
            {
                **_common(tiny_policy, tmp_path / "dpo"),
                "dataset": str(data_dir / "prefs.jsonl"),
                "label_smoothing": 0.1,
            }
        )


@pytest.mark.parametrize("train", [train_grpo, train_rloo], ids=["grpo", "rloo"])
def test_online_rl_with_the_reward_model(
    train: Any, tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    result = train(
        {
            **_common(tiny_policy, tmp_path / "out"),
            "dataset": str(data_dir / "prompts.jsonl"),
            "reward_model": str(tiny_reward_model),
            "num_generations": 2,
            "max_completion_length": 8,
        }
    )
    assert result.metrics["global_step"] == 2
    assert result.metrics["reward_source"] == "model"
    assert result.metrics["last"]["reward"] is not None
    assert changed_tensors(tiny_policy, result.output_dir)


def test_online_rl_needs_a_reward_source(tiny_policy: Path, data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs reward_model"):
        train_grpo({**_common(tiny_policy, tmp_path), "dataset": str(data_dir / "prompts.jsonl")})

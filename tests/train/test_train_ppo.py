"""PPO through TRL's experimental PPOTrainer: the score rises against a fixed learnable reward,
and the KL-budget and ratio-band safeguards really stop training, saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from train_helpers import TokenSetScorer, changed_tensors

from rlaif.errors import ConfigError
from rlaif.train import train_ppo

RESPONSE_LENGTH = 8


def _scorer(policy: Path) -> TokenSetScorer:
    """Reward = share of response tokens whose (tied) embedding lies on one side of a hyperplane:
    a property the policy can learn by moving its hidden state along that direction."""
    from transformers import AutoModelForCausalLM

    embeddings = AutoModelForCausalLM.from_pretrained(policy).get_input_embeddings().weight
    return TokenSetScorer(embeddings.detach()[:, 0] > 0, window=RESPONSE_LENGTH)


def _config(policy: Path, value: Path, data_dir: Path, out: Path, **extra: Any) -> dict[str, Any]:
    return {
        "model": str(policy),
        "value_model": str(value),
        "dataset": str(data_dir / "prompts.jsonl"),
        "output_dir": str(out),
        "per_device_train_batch_size": 16,
        "response_length": RESPONSE_LENGTH,
        "temperature": 1.0,
        "logging_steps": 1,
        **extra,
    }


def _logged(out: Path, key: str) -> list[float]:
    lines = (out / "log_history.jsonl").read_text().splitlines()
    return [entry[key] for entry in map(json.loads, lines) if key in entry]


def test_ppo_raises_the_score(
    tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    out = tmp_path / "ppo"
    result = train_ppo(
        _config(
            tiny_policy,
            tiny_reward_model,
            data_dir,
            out,
            max_steps=6,
            learning_rate=3e-2,
            kl_coef=0.0,
            num_ppo_epochs=4,
            trl_args={"lr_scheduler_type": "constant"},
        ),
        reward_model=_scorer(tiny_policy),
    )
    scores = _logged(out, "objective/scores")
    assert len(scores) == 6 and result.metrics["stopped_early"] is None
    assert sum(scores[-2:]) / 2 > sum(scores[:2]) / 2 + 0.1, scores
    assert changed_tensors(tiny_policy, out)
    for key in (
        "objective/kl",
        "objective/rlhf_reward",
        "objective/entropy",
        "rollout/response_length",
        "rollout/eos_rate",
    ):
        assert len(_logged(out, key)) == 6, key
    assert all(0 < n <= RESPONSE_LENGTH for n in _logged(out, "rollout/response_length"))


def test_kl_budget_stops_training(
    tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ppo"
    result = train_ppo(
        _config(
            tiny_policy,
            tiny_reward_model,
            data_dir,
            out,
            reward_model=str(tiny_reward_model),
            max_steps=6,
            learning_rate=1e-2,
            kl_budget=1e-3,
            ratio_band=None,
        )
    )
    reason = result.metrics["stopped_early"]
    assert reason is not None and reason["metric"] == "objective/kl"
    assert reason["value"] > 1e-3 and "exceeded the budget" in reason["message"]
    assert result.metrics["global_step"] == reason["step"] < 6
    assert json.loads((out / "metrics.json").read_text())["stopped_early"] == reason
    assert (out / "model.safetensors").is_file()


def test_ratio_band_stops_training(
    tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    result = train_ppo(
        _config(
            tiny_policy,
            tiny_reward_model,
            data_dir,
            tmp_path / "ppo",
            reward_model=str(tiny_reward_model),
            max_steps=4,
            learning_rate=1e-2,
            num_ppo_epochs=2,
            ratio_band=[0.999, 1.001],
        )
    )
    reason = result.metrics["stopped_early"]
    assert reason is not None and reason["metric"] == "val/ratio" and reason["step"] == 1
    assert result.metrics["global_step"] == 1


def test_reward_model_must_share_the_policy_tokenizer(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    from rlaif.models.tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other_rm", sequence_classification=True, vocab_size=300)
    with pytest.raises(ConfigError, match="different tokenizer"):
        train_ppo(_config(tiny_policy, other, data_dir, tmp_path / "ppo", reward_model=str(other)))

"""LoRA through peft for every algorithm: an adapter is saved, and the merged model differs from
the base only where adapters (or the reward head) were trained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from train_helpers import changed_tensors

from rlaif.train import run_training

LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


def _config(algorithm: str, policy: Path, reward: Path, data: Path, out: Path) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model": str(policy),
        "output_dir": str(out),
        "max_steps": 2,
        "learning_rate": 1e-2,
        "per_device_train_batch_size": 4,
        "lora": LORA,
    }
    if algorithm == "sft":
        config["dataset"] = str(data / "sft.jsonl")
    elif algorithm in ("rm", "dpo"):
        config.update(dataset=str(data / "prefs.jsonl"), max_length=64)
    else:
        config.update(dataset=str(data / "prompts.jsonl"), reward_model=str(reward))
        if algorithm == "ppo":
            config.update(response_length=8, value_model=str(reward))
        else:
            config.update(num_generations=2, max_completion_length=8)
    return config


@pytest.mark.parametrize("algorithm", ["sft", "rm", "ppo", "dpo", "grpo", "rloo"])
def test_lora_adapter_saved_and_merged(
    algorithm: str, tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / algorithm
    result = run_training(
        algorithm, _config(algorithm, tiny_policy, tiny_reward_model, data_dir, out)
    )
    assert result.metrics["global_step"] >= 2
    assert (out / "adapter" / "adapter_config.json").is_file()
    changed = changed_tensors(tiny_policy, out)
    assert changed, "the merged model equals the base"
    projections = [n for n in changed if "layers." in n]
    assert projections and all(("q_proj" in n or "v_proj" in n) for n in projections), changed

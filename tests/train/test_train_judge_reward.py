"""GRPO, RLOO and PPO with the AI judge itself as the reward (``reward: judge``), through the judge
layer's reward function and a scripted ``fake/`` judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from train_helpers import changed_tensors, prompt_records, write_jsonl

from rlaif.data import DataFileError
from rlaif.judge.framing import shown_responses
from rlaif.train import train_grpo, train_rloo

BASELINE = "BASELINE REPLY"


def _block(text: str, label: str) -> str:
    shown = shown_responses(text)
    assert shown, "no responses in the judge prompt"
    return shown[0] if label == "A" else shown[1]


class ScriptedJudge:
    """Prefers completions with an even number of characters (p=0.9) over the baseline, else the
    baseline (p=0.2 for the completion), whichever order they are shown in; records each
    completion it scored."""

    def __init__(self) -> None:
        self.scored: list[float] = []

    @staticmethod
    def preference(completion: str) -> float:
        return 0.9 if len(completion) % 2 == 0 else 0.2

    def __call__(self, conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        text = [m for m in conversation if m["role"] == "user"][-1]["content"]
        first, second = _block(text, "A"), _block(text, "B")
        completion_first = second == BASELINE
        completion = first if completion_first else second
        p = self.preference(completion)
        if completion_first:
            self.scored.append(p)
        p_first = p if completion_first else 1.0 - p
        return {choices[0]: p_first, choices[1]: 1.0 - p_first}


def _config(policy: Path, prompts: Path, out: Path, judge: ScriptedJudge) -> dict[str, Any]:
    return {
        "model": str(policy),
        "dataset": str(prompts),
        "output_dir": str(out),
        "max_steps": 2,
        "learning_rate": 1e-3,
        "per_device_train_batch_size": 4,
        "logging_steps": 1,
        "num_generations": 2,
        "max_completion_length": 8,
        "reward": "judge",
        "judge": {
            "model": "fake/scripted-judge",
            "model_options": {"choice_probs": judge},
            "constitution": "minimal",
        },
    }


@pytest.mark.parametrize("train", [train_grpo, train_rloo], ids=["grpo", "rloo"])
def test_judge_is_the_reward(train: Any, tiny_policy: Path, tmp_path: Path) -> None:
    records = prompt_records(8)
    for record in records:
        record["reference"] = BASELINE
    prompts = write_jsonl(tmp_path / "prompts.jsonl", records)
    judge = ScriptedJudge()
    result = train(_config(tiny_policy, prompts, tmp_path / "out", judge))

    assert result.metrics["reward_source"] == "judge"
    assert result.metrics["global_step"] == 2
    # 2 steps x 4 completions (2 prompts x 2 generations), each judged in both orders (the
    # scripted judge records a completion once, when it is shown first).
    assert len(judge.scored) == 2 * 4
    lines = (tmp_path / "out" / "log_history.jsonl").read_text().splitlines()
    logged = [entry["reward"] for entry in map(json.loads, lines) if "reward" in entry]
    assert len(logged) == 2
    # The reward TRL saw is the judge's probability that the completion beats the baseline.
    assert sum(logged) / 2 == pytest.approx(sum(judge.scored) / len(judge.scored), abs=1e-5)
    assert changed_tensors(tiny_policy, result.output_dir)


def test_judge_reward_needs_a_baseline(tiny_policy: Path, data_dir: Path, tmp_path: Path) -> None:
    config = _config(tiny_policy, data_dir / "prompts.jsonl", tmp_path / "out", ScriptedJudge())
    with pytest.raises(DataFileError, match="needs a baseline"):
        train_grpo(config)
    config["judge"]["baseline"] = BASELINE
    config["max_steps"] = 1
    assert train_grpo(config).metrics["global_step"] == 1


def test_judge_is_the_ppo_reward(tiny_policy: Path, tmp_path: Path) -> None:
    """PPO with ``reward: judge`` awaits the async judge reward once per batch of rollouts."""
    from rlaif.train import train_ppo

    records = prompt_records(8)
    for record in records:
        record["reference"] = BASELINE
    prompts = write_jsonl(tmp_path / "prompts.jsonl", records)
    judge = ScriptedJudge()
    config = _config(tiny_policy, prompts, tmp_path / "out", judge)
    for key in ("num_generations", "max_completion_length"):
        del config[key]
    config.update(response_length=8, ratio_band=None)
    result = train_ppo(config)

    assert result.metrics["reward_source"] == "judge"
    assert result.metrics["global_step"] == 2
    assert len(judge.scored) == 2 * 4  # 2 steps of 4 rollouts, each judged in both orders
    lines = (tmp_path / "out" / "log_history.jsonl").read_text().splitlines()
    logged = [entry["objective/scores"] for entry in map(json.loads, lines)]
    assert sum(logged) / 2 == pytest.approx(sum(judge.scored) / len(judge.scored), abs=1e-5)
    assert changed_tensors(tiny_policy, result.output_dir)

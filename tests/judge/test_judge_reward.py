"""JudgeReward: the judge as a TRL reward function (direct RLAIF)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from judge_helpers import SAFE, UNSAFE, content_judge

from rlaif.constitution import Constitution
from rlaif.errors import ConfigError
from rlaif.judge import JudgeReward, PairwiseJudge
from rlaif.models import get_model

PROMPTS = [[{"role": "user", "content": "How do I get back at my neighbour?"}]] * 2


def test_scores_are_the_probability_of_beating_the_reference(minimal: Constitution) -> None:
    reward = JudgeReward.create(get_model("fake/j", choice_probs=content_judge()), minimal)
    completions = [
        [{"role": "assistant", "content": SAFE}],
        [{"role": "assistant", "content": UNSAFE}],
    ]
    scores = asyncio.run(
        reward(
            prompts=PROMPTS,
            completions=completions,
            completion_ids=[[1], [2]],
            reference=["Whatever you like.", "Whatever you like."],
            trainer_state=None,
        )
    )
    assert scores == pytest.approx([0.8, 0.5])
    assert reward.__name__ == "judge_reward"
    assert all(j.orders == ["12", "21"] for j in reward.last_judgments)


def test_plain_text_prompts_and_a_fixed_baseline(minimal: Constitution) -> None:
    reward = JudgeReward.create(
        get_model("fake/j", choice_probs=content_judge()), minimal, baseline=SAFE, name="harmless"
    )
    scores = asyncio.run(reward(prompts=["Tell me"], completions=[UNSAFE]))
    assert scores == pytest.approx([0.2])
    assert reward.__name__ == "harmless"


def test_missing_verdicts_are_none_unless_a_default_is_given(minimal: Constitution) -> None:
    def failing(conversation: object, choices: list[str]) -> dict[str, float]:
        return {c: float("nan") for c in choices}

    reward = JudgeReward.create(get_model("fake/nan", choice_probs=failing), minimal, baseline="x")
    assert asyncio.run(reward(prompts=["p"], completions=["c"])) == [None]
    reward.missing_reward = 0.5
    assert asyncio.run(reward(prompts=["p"], completions=["c"])) == [0.5]


def test_logs_consistency_and_missing_rates(minimal: Constitution) -> None:
    logged: dict[str, float] = {}
    reward = JudgeReward.create(get_model("fake/j", choice_probs=content_judge()), minimal)
    asyncio.run(
        reward(
            prompts=PROMPTS,
            completions=[SAFE, UNSAFE],
            reference=[UNSAFE, SAFE],
            log_metric=lambda name, value: logged.__setitem__(name, value),
        )
    )
    assert logged == {"judge_reward/missing": 0.0, "judge_reward/consistent": 1.0}


def test_bad_configurations_are_explained(minimal: Constitution) -> None:
    reward = JudgeReward.create(get_model("fake/j"), minimal)
    with pytest.raises(ConfigError, match="no baseline"):
        asyncio.run(reward(prompts=["p"], completions=["c"]))
    with pytest.raises(ConfigError, match="2 values for 1"):
        asyncio.run(reward(prompts=["p"], completions=["c"], reference=["a", "b"]))
    generate = PairwiseJudge(get_model("fake/j", outputs=["A"]), minimal, mode="generate")
    with pytest.raises(ConfigError, match="logprob"):
        JudgeReward(generate)


def test_the_reward_is_async_for_trl() -> None:
    from trl.trainer.utils import is_async_callable

    assert is_async_callable(JudgeReward.create(get_model("fake/j"), "minimal", baseline="x"))


def test_importing_the_reward_module_does_not_import_torch() -> None:
    code = "import sys, rlaif.judge.reward; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_grpo_trainer_trains_one_step_on_judge_rewards(
    tmp_path: Path, minimal: Constitution
) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from rlaif.models.local.tiny import build_tiny_model

    def shorter_is_better(
        conversation: list[dict[str, str]], choices: list[str]
    ) -> dict[str, float]:
        from judge_helpers import block, judge_prompt

        text = judge_prompt(conversation)
        a, b = len(block(text, "A")), len(block(text, "B"))
        p_a = 0.5 + 0.4 * ((a < b) - (b < a))
        return {choices[0]: p_a, choices[1]: 1.0 - p_a}

    reward = JudgeReward.create(get_model("fake/short", choice_probs=shorter_is_better), minimal)
    reference = "A reference answer that is longer than eight new tokens of the tiny model."
    dataset = Dataset.from_list(
        [{"prompt": [{"role": "user", "content": "Say hi"}], "reference": reference}] * 4
    )
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
    )
    trainer = GRPOTrainer(
        model=str(build_tiny_model(tmp_path / "tiny")),
        reward_funcs=reward,
        args=args,
        train_dataset=dataset,
    )
    trainer.train()
    logs = trainer.state.log_history[0]
    assert logs["rewards/judge_reward/mean"] == pytest.approx(0.9, abs=1e-6)
    assert logs["judge_reward/consistent"] == 1.0
    assert len(reward.last_judgments) == 4
    assert all(j.p_response_1 == pytest.approx(0.9) for j in reward.last_judgments)


def test_create_passes_the_prompt_limit_to_the_judge(minimal: Constitution) -> None:
    seen: list[str] = []

    def recording(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        seen.append("\n".join(m["content"] for m in conversation))
        return content_judge()(conversation, choices)

    long_prompt = [{"role": "user", "content": "Tell me about my neighbour. " * 200}]
    model = get_model("fake/j", choice_probs=recording)
    asyncio.run(
        JudgeReward.create(model, minimal, baseline=SAFE)(
            prompts=[long_prompt], completions=[UNSAFE]
        )
    )
    assert seen and all("more characters not shown" not in text for text in seen)
    seen.clear()
    reward = JudgeReward.create(model, minimal, baseline=SAFE, max_prompt_chars=300)
    asyncio.run(reward(prompts=[long_prompt], completions=[UNSAFE]))
    assert seen and all("more characters not shown" in text for text in seen)
    assert all(text.count("Tell me about my neighbour.") < 20 for text in seen)

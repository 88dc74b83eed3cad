"""rlaif's own PPO: the reward rises under a rule reward with the KL bounded, the first update
starts at ratio 1, the value loss falls, one and two processes make the same update, a killed
run resumes from its checkpoint, and the KL-budget and ratio-band safeguards stop training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import changed_tensors
from transformers import TrainerCallback

import rlaif.train.ppo_trainer as ppo_trainer
from rlaif.errors import ConfigError
from rlaif.train import train_ppo

RESPONSE_LENGTH = 8


def even_share(
    prompts: list[Any], completions: list[str], completion_ids: list[list[int]], **_: Any
) -> list[float]:
    """The rule reward: the share of a response's tokens whose id is even (a token set the
    policy can learn to prefer)."""
    return [sum(1 for t in ids if t % 2 == 0) / RESPONSE_LENGTH for ids in completion_ids]


def _config(policy: Path, data_dir: Path, out: Path, **extra: Any) -> dict[str, Any]:
    return {
        "model": str(policy),
        "dataset": str(data_dir / "prompts.jsonl"),
        "output_dir": str(out),
        "per_device_train_batch_size": 16,
        "response_length": RESPONSE_LENGTH,
        "temperature": 1.0,
        "stop_at_eos": False,
        # fp32 on every CPU: with AVX512-BF16 `auto` trains in bf16, whose rounding is far over
        # the tolerances the equality tests below hold the arithmetic to
        "precision": "fp32",
        **extra,
    }


def _logged(out: Path, key: str) -> list[float]:
    lines = (out / "log_history.jsonl").read_text().splitlines()
    return [entry[key] for entry in map(json.loads, lines) if key in entry]


def test_the_reward_rises_and_the_kl_stays_bounded(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ppo"
    result = train_ppo(
        _config(
            tiny_policy, data_dir, out, max_steps=8, learning_rate=3e-2, kl_coef=0.05,
            lr_scheduler="constant", ratio_band=None,
        ),
        reward_fn=even_share,
    )  # fmt: skip
    scores = _logged(out, "objective/scores")
    assert len(scores) == 8 and result.metrics["stopped_early"] is None
    assert sum(scores[-2:]) / 2 > sum(scores[:2]) / 2 + 0.2, scores
    assert max(_logged(out, "objective/kl")) < 10.0  # nats over 8 tokens
    assert changed_tensors(tiny_policy, out)
    logged_every_step = (
        "objective/rlhf_reward", "objective/entropy", "policy/clipfrac_avg", "loss/value_avg",
        "policy/approxkl_avg", "time/generation", "time/update",
    )  # fmt: skip
    for key in logged_every_step:
        assert len(_logged(out, key)) == 8, key
    assert _logged(out, "rollout/response_length") == [RESPONSE_LENGTH] * 8
    assert result.metrics["value_function"] == "head on the policy"
    assert result.metrics["reward_source"] == "function"


@pytest.mark.parametrize("accumulation", [1, 2], ids=["first-pass-reused", "separate-pass"])
def test_the_first_minibatch_starts_at_ratio_one(
    accumulation: int,
    tiny_policy: Path,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With one micro-batch the rollouts' log-probabilities come from the update's first forward
    pass; with two, from a separate no-grad pass. Either way the first ratio is 1."""
    seen: list[Any] = []
    real = ppo_trainer.clipped_policy_loss

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        seen.append((result, args[3]))
        return result

    monkeypatch.setattr(ppo_trainer, "clipped_policy_loss", recording)
    train_ppo(
        _config(tiny_policy, data_dir, tmp_path / "ppo", max_steps=1, learning_rate=3e-2,
                num_ppo_epochs=2, ratio_band=None, per_device_train_batch_size=16 // accumulation,
                gradient_accumulation_steps=accumulation),
        reward_fn=even_share,
    )  # fmt: skip
    first, mask = seen[0]
    ratios = first.ratio[mask.bool()]
    assert torch.allclose(ratios, torch.ones_like(ratios), atol=1e-5)
    assert torch.isclose(first.loss_sum, first.unclipped_sum, atol=1e-5)
    assert not first.clipped.any()
    later, later_mask = seen[-1]  # after an update at a large learning rate, ratios move
    assert (later.ratio[later_mask.bool()] - 1).abs().max() > 1e-3


def test_reusing_the_first_pass_makes_the_same_update(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    """16 rollouts as one micro-batch (the update's first forward pass doubles as the rollout
    pass) or as two accumulated micro-batches of 8 (a separate no-grad pass): the same samples
    and the same step, to float rounding (2e-4 on a weight, 2% of the learning rate: see
    tests/train/test_train_cli.py for why Adam's first step allows no less)."""
    runs = {}
    for accumulation in (1, 2):
        out = tmp_path / f"accumulation-{accumulation}"
        train_ppo(
            _config(tiny_policy, data_dir, out, max_steps=1, learning_rate=1e-2, ratio_band=None,
                    per_device_train_batch_size=16 // accumulation,
                    gradient_accumulation_steps=accumulation),
            reward_fn=even_share,
        )  # fmt: skip
        runs[accumulation] = out
    for key in ("objective/scores", "loss/policy_avg", "loss/value_avg", "objective/entropy"):
        assert _logged(runs[1], key) == pytest.approx(_logged(runs[2], key), rel=1e-5), key
    a, b = (
        load_file(str(runs[1] / "model.safetensors")),
        load_file(str(runs[2] / "model.safetensors")),
    )
    assert all(torch.allclose(a[name], b[name], atol=2e-4) for name in a)


def test_the_value_loss_falls_on_a_fixed_batch(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    from rlaif.train.loading import load_tokenizer, load_training_lm
    from rlaif.train.online import prompts_for_reward
    from rlaif.train.ppo import FunctionScorer
    from rlaif.train.ppo_config import PPOTrainConfig
    from rlaif.train.ppo_core import kl_per_token

    config = PPOTrainConfig.model_validate(
        _config(tiny_policy, data_dir, tmp_path / "ppo", learning_rate=1e-2, vf_coef=1.0,
                per_device_train_batch_size=8, gradient_accumulation_steps=2,
                cliprange_value=10.0)
    )  # fmt: skip
    tokenizer = load_tokenizer(str(tiny_policy), padding_side="left")
    prompts, _ = prompts_for_reward(config, tokenizer)
    trainer = ppo_trainer.PPOTrainer(
        config,
        policy=load_training_lm(str(tiny_policy), tokenizer, dtype="float32"),
        tokenizer=tokenizer,
        prompts=prompts,
        scorer=FunctionScorer(even_share, tokenizer),
        ref_model=load_training_lm(str(tiny_policy), tokenizer, dtype="float32"),
    )
    rows, queries = trainer._prompt_batch(1)
    rollouts = trainer._rollout(rows, queries)
    kl = kl_per_token(rollouts.logprobs, rollouts.ref_logprobs, config.kl_estimator)
    advantages, returns = trainer._advantages(rollouts, kl)
    # The value clip is opened wide: against fixed old values it would cap how far the loss falls.
    losses = [trainer._update(rollouts, advantages, returns, 1)["loss/value_avg"] for _ in range(8)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_the_value_function_learns_at_its_own_rate(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    from rlaif.train.loading import load_tokenizer, load_training_lm
    from rlaif.train.online import prompts_for_reward
    from rlaif.train.ppo import FunctionScorer
    from rlaif.train.ppo_config import PPOTrainConfig

    tokenizer = load_tokenizer(str(tiny_policy), padding_side="left")
    moved = {}
    for value_lr in (None, 1e-2):
        config = PPOTrainConfig.model_validate(
            _config(tiny_policy, data_dir, tmp_path / f"ppo-{value_lr}", learning_rate=1e-5,
                    value_learning_rate=value_lr, vf_coef=1.0, max_steps=1)
        )  # fmt: skip
        prompts, _ = prompts_for_reward(config, tokenizer)
        policy = load_training_lm(str(tiny_policy), tokenizer, dtype="float32")
        before = {n: p.detach().clone() for n, p in policy.named_parameters()}
        trainer = ppo_trainer.PPOTrainer(
            config,
            policy=policy,
            tokenizer=tokenizer,
            prompts=prompts,
            scorer=FunctionScorer(even_share, tokenizer),
            ref_model=load_training_lm(str(tiny_policy), tokenizer, dtype="float32"),
        )
        groups = trainer.optimizer.param_groups
        assert [g["lr"] for g in groups] == [1e-5, value_lr or 1e-5]
        head = trainer.accelerator.unwrap_model(trainer.model).value_head
        assert {id(p) for p in groups[1]["params"]} == {id(p) for p in head.parameters()}
        rows, queries = trainer._prompt_batch(1)
        rollouts = trainer._rollout(rows, queries)
        kl = torch.zeros_like(rollouts.logprobs)
        advantages, returns = trainer._advantages(rollouts, kl)
        trainer._update(rollouts, advantages, returns, 1)
        moved[value_lr] = (
            head.bias.detach().abs().item(),
            max((p.detach() - before[n]).abs().max().item() for n, p in policy.named_parameters()),
        )
    (head_default, policy_default), (head_fast, policy_fast) = moved[None], moved[1e-2]
    assert head_fast > 100 * head_default  # the head moved at its own rate ...
    assert policy_fast == pytest.approx(policy_default, rel=0.5)  # ... the policy at its own


def test_a_killed_run_resumes_from_its_last_checkpoint(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    class Killed(Exception):
        pass

    class KillAtStep3(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == 3:
                raise Killed

    settings = {"max_steps": 4, "save_steps": 2, "learning_rate": 1e-2, "ratio_band": None,
                "per_device_train_batch_size": 4}  # fmt: skip
    whole = tmp_path / "whole"
    train_ppo(_config(tiny_policy, data_dir, whole, **settings), reward_fn=even_share)
    resumed = tmp_path / "resumed"
    with pytest.raises(Killed):
        train_ppo(
            _config(tiny_policy, data_dir, resumed, **settings),
            reward_fn=even_share,
            callbacks=[KillAtStep3()],
        )
    assert (resumed / "checkpoint-2" / "model.safetensors").is_file()
    assert not (resumed / "model.safetensors").exists()
    result = train_ppo(
        _config(tiny_policy, data_dir, resumed, resume_from_checkpoint=True, **settings),
        reward_fn=even_share,
    )
    assert result.metrics["global_step"] == 4
    assert [e["step"] for e in map(json.loads, (resumed / "log_history.jsonl").open())] == [
        1,
        2,
        3,
        4,
    ]
    assert _logged(resumed, "objective/scores") == pytest.approx(_logged(whole, "objective/scores"))
    a, b = (
        load_file(str(whole / "model.safetensors")),
        load_file(str(resumed / "model.safetensors")),
    )
    assert all(torch.allclose(a[name], b[name], atol=1e-6) for name in a)


def test_kl_budget_stops_training(
    tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ppo"
    result = train_ppo(
        _config(
            tiny_policy, data_dir, out, reward_model=str(tiny_reward_model), max_steps=6,
            learning_rate=1e-2, kl_budget=1e-3, ratio_band=None, value_model=str(tiny_reward_model),
        )
    )  # fmt: skip
    reason = result.metrics["stopped_early"]
    assert reason is not None and reason["metric"] == "objective/kl"
    assert reason["value"] > 1e-3 and "exceeded the budget" in reason["message"]
    assert result.metrics["global_step"] == reason["step"] < 6
    assert json.loads((out / "metrics.json").read_text())["stopped_early"] == reason
    assert (out / "model.safetensors").is_file()
    assert result.metrics["value_function"] == "separate model"


def test_ratio_band_stops_training(
    tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    result = train_ppo(
        _config(
            tiny_policy, data_dir, tmp_path / "ppo", reward_model=str(tiny_reward_model),
            max_steps=4, learning_rate=1e-2, num_ppo_epochs=2, ratio_band=[0.999, 1.001],
        )
    )  # fmt: skip
    reason = result.metrics["stopped_early"]
    assert reason is not None and reason["metric"] == "val/ratio" and reason["step"] == 1
    assert result.metrics["global_step"] == 1


def test_adaptive_kl_coefficient_moves_towards_the_target(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ppo"
    train_ppo(
        _config(tiny_policy, data_dir, out, max_steps=3, learning_rate=3e-2, kl_coef=0.1,
                kl_target=1e-6, kl_horizon=16, ratio_band=None),
        reward_fn=even_share,
    )  # fmt: skip
    coefficients, kls = _logged(out, "objective/kl_coef"), _logged(out, "objective/kl")
    assert coefficients[0] == pytest.approx(0.1)
    for step in range(len(coefficients) - 1):  # up after a KL above the target, down below it
        grew = coefficients[step + 1] > coefficients[step]
        assert grew == (kls[step] > 1e-6), (coefficients, kls)


def test_reward_model_must_share_the_policy_tokenizer(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    from rlaif.models.local.tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other_rm", sequence_classification=True, vocab_size=300)
    with pytest.raises(ConfigError, match="different tokenizer"):
        train_ppo(_config(tiny_policy, data_dir, tmp_path / "ppo", reward_model=str(other)))


def test_a_run_without_a_reward_is_refused(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="PPO needs a reward"):
        train_ppo(_config(tiny_policy, data_dir, tmp_path / "ppo"))
    with pytest.raises(ConfigError, match="trl_args"):
        train_ppo(_config(tiny_policy, data_dir, tmp_path / "ppo", trl_args={"x": 1}))


def test_activation_checkpointing_is_off_for_generation_and_back_on_for_the_update(
    tiny_policy: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlaif.train.ppo_model import PolicyAndValue

    seen: list[bool] = []
    real = ppo_trainer.sample_responses

    def recording(policy: Any, *args: Any) -> Any:
        seen.append(bool(policy.is_activation_checkpointing))
        return real(policy, *args)

    monkeypatch.setattr(ppo_trainer, "sample_responses", recording)
    states: list[bool] = []
    real_forward = PolicyAndValue.forward

    def forward(self: PolicyAndValue, *args: Any) -> Any:
        if torch.is_grad_enabled():
            states.append(self.is_gradient_checkpointing)
        return real_forward(self, *args)

    monkeypatch.setattr(PolicyAndValue, "forward", forward)
    out = tmp_path / "ppo"
    train_ppo(
        _config(tiny_policy, data_dir, out, max_steps=2, learning_rate=1e-2, ratio_band=None,
                gradient_checkpointing=True),
        reward_fn=even_share,
    )  # fmt: skip
    assert seen == [False, False] and states and all(states)
    assert changed_tensors(tiny_policy, out)

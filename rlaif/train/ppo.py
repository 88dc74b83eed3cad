"""``rlaif train ppo``: PPO against a reward model, the AI judge or a reward function, on rlaif's
own trainer (:mod:`rlaif.train.ppo_trainer`; settings in :mod:`rlaif.train.ppo_config`).

The policy and reference start from the SFT model; the value function is a head on the policy
unless ``value_model`` names a separate one; prompts are tokenized with the policy's chat
template. Two safeguards stop training, saying why: the KL to the reference (``objective/kl``,
summed over the response) exceeding ``kl_budget``, and the mean probability ratio of the update
(``val/ratio``) leaving ``ratio_band``.

>>> from rlaif.train import train_ppo
>>> def shorter(prompts, completions, **columns):  # any f(prompts, completions) -> list[float]
...     return [-len(c) / 100 for c in completions]
>>> train_ppo({"model": "runs/sft", "dataset": "prompts.jsonl", "output_dir": "runs/ppo"},
...           reward_fn=shorter)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from rlaif.errors import ConfigError
from rlaif.train.config import coerce_config
from rlaif.train.loading import (
    check_same_tokenizer,
    load_reward_model,
    load_tokenizer,
    load_training_lm,
)
from rlaif.train.lora import peft_config
from rlaif.train.online import judge_reward, prompts_for_reward
from rlaif.train.ppo_config import PPOTrainConfig
from rlaif.train.run_folder import (
    StepTimer,
    TrainResult,
    first_logged,
    last_logged,
    save_model,
    write_run_files,
)
from rlaif.train.safeguards import Safeguard

__all__ = ["PPOTrainConfig", "train_ppo"]

LOGGED = (
    "objective/scores",
    "objective/rlhf_reward",
    "objective/kl",
    "objective/entropy",
    "loss/value_avg",
    "policy/clipfrac_avg",
    "rollout/response_length",
    "rollout/eos_rate",
    "val/ratio",
)
"""Metrics whose first and last logged values go into metrics.json."""


class ModelScorer:
    """Scores responses with a sequence-classifier reward model that shares the policy's
    tokenizer (its score at the last token of prompt + response)."""

    def __init__(self, model: Any, pad_id: int) -> None:
        self.model = model
        self.pad_id = pad_id

    @torch.no_grad()
    def __call__(
        self, rows: list[dict[str, Any]], queries: torch.Tensor, responses: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:  # fmt: skip
        from rlaif.train.packing import packed_forward, position_ids
        from rlaif.train.ppo_model import sequence_attention

        device = self.model.device
        attention = sequence_attention(queries, mask, self.pad_id).to(device)
        sequences = torch.cat([queries, responses], dim=1).to(device)
        head = getattr(self.model, "score", None)
        if head is None:  # a classifier without rlaif's usual head: its own pooling, padded
            output = self.model(
                input_ids=sequences, attention_mask=attention, position_ids=position_ids(attention)
            )
            return output.logits[:, 0].float().cpu()
        # The score at each row's last real token: the prompt's last (kept column 0) plus the
        # response's tokens; the rows packed (rlaif.train.packing).
        backbone = getattr(self.model, self.model.base_model_prefix)
        state: Any = packed_forward(backbone, sequences, attention, responses.shape[1] + 1).hidden
        last = mask.to(device).long().sum(1)
        pooled = state[torch.arange(state.shape[0], device=device), last]
        return head(pooled)[:, 0].float().cpu()


class FunctionScorer:
    """Scores responses with ``reward_fn(prompts=..., completions=..., completion_ids=...,
    **columns)``, TRL's reward-function contract (sync or async; ``None`` for a response that
    could not be scored, which is then left out of the update)."""

    def __init__(self, reward_fn: Callable[..., Any], tokenizer: Any) -> None:
        self.reward_fn = reward_fn
        self.tokenizer = tokenizer
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(
        self, rows: list[dict[str, Any]], queries: torch.Tensor, responses: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:  # fmt: skip
        ids = [row[m].tolist() for row, m in zip(responses, mask.bool(), strict=True)]
        completions = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        columns = {
            key: [row.get(key) for row in rows]
            for key in rows[0]
            if key not in ("prompt", "prompts", "completions", "completion_ids")
        }
        result = self.reward_fn(
            prompts=[row["prompt"] for row in rows],
            completions=completions,
            completion_ids=ids,
            **columns,
        )
        if asyncio.iscoroutine(result):
            result = self._run(result)
        values = list(result)
        if len(values) != len(completions):
            raise ValueError(
                f"the reward function returned {len(values)} rewards for {len(completions)} "
                "completions"
            )
        return torch.tensor([float("nan") if v is None else float(v) for v in values])

    def _run(self, coroutine: Any) -> Any:
        """Await an async reward function on a private event loop (one per scorer)."""
        if self._loop is None:
            from trl.trainer.utils import start_event_loop_in_daemon

            _, self._loop, ready = start_event_loop_in_daemon(name="rlaif-ppo-reward")
            ready.wait()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()


def train_ppo(
    config: PPOTrainConfig | dict[str, Any] | str | Path,
    *,
    reward_fn: Callable[..., Any] | None = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Run PPO and write the run folder (the policy is saved).

    ``reward_fn``, when given, is the reward instead of ``config.reward``: any
    ``f(prompts, completions, **kwargs) -> list[float | None]``, called as TRL calls reward
    functions (``prompts`` as message lists, ``completions`` as strings, plus
    ``completion_ids`` and the prompt file's other columns), sync or ``async``."""
    from rlaif.train.ppo_trainer import PPOTrainer

    config = coerce_config(PPOTrainConfig, config)
    config.check_reward_source(reward_fn is not None)
    common = config.model_options()
    tokenizer = load_tokenizer(
        config.model, padding_side="left", trust_remote_code=config.trust_remote_code
    )
    if reward_fn is None and config.reward == "model" and config.reward_model is not None:
        check_same_tokenizer(tokenizer, config.reward_model, "reward model")
    if config.value_model is not None:
        check_same_tokenizer(tokenizer, config.value_model, "value model")
    prompts, stats = prompts_for_reward(config, tokenizer)
    data_stats = stats.as_dict()

    if reward_fn is not None:
        scorer: Any = FunctionScorer(reward_fn, tokenizer)
    elif config.reward == "judge":
        assert config.judge is not None
        scorer = FunctionScorer(judge_reward(config.judge, seed=config.seed), tokenizer)
    else:
        assert config.reward_model is not None
        reward_model = load_reward_model(config.reward_model, tokenizer, **common).eval()
        scorer = ModelScorer(reward_model, tokenizer.pad_token_id)

    policy = load_training_lm(config.model, tokenizer, **common)
    ref = None
    if config.lora is None:
        ref = load_training_lm(config.ref_model or config.model, tokenizer, **common).eval()
    elif config.ref_model is not None:
        raise ConfigError("ref_model with LoRA: the reference is the policy with its adapter off")
    else:
        from peft import get_peft_model

        policy = get_peft_model(policy, peft_config(config.lora))
    value_model = None
    if config.value_model is not None:
        value_model = load_reward_model(config.value_model, tokenizer, **common)

    safeguard = Safeguard(
        kl_key="objective/kl",
        kl_budget=config.kl_budget,
        ratio_key="val/ratio",
        ratio_band=config.ratio_band,
        patience=config.safeguard_patience,
    )
    timer = StepTimer()
    trainer = PPOTrainer(
        config,
        policy=policy,
        tokenizer=tokenizer,
        prompts=prompts,
        scorer=scorer,
        ref_model=ref,
        value_model=value_model,
        callbacks=[timer, safeguard, *_progress(), *(callbacks or [])],
    )
    trainer.train(resume_from_checkpoint=config.resume_from_checkpoint)
    history = trainer.state.log_history
    extra: dict[str, Any] = {
        "first": {key: first_logged(history, key) for key in LOGGED},
        "last": {key: last_logged(history, key) for key in LOGGED},
        "stopped_early": safeguard.reason.as_dict() if safeguard.reason else None,
        "value_function": "separate model" if value_model is not None else "head on the policy",
        "reward_source": "function" if reward_fn is not None else config.reward,
        "data": data_stats,
    }
    if safeguard.reason is not None and trainer.accelerator.is_main_process:
        print(f"rlaif: {safeguard.reason.message}")
    policy_module = trainer.accelerator.unwrap_model(trainer.model).policy
    save_model(trainer, policy_module, Path(config.output_dir), merge_lora=config.merge_lora)
    return write_run_files(trainer, config, "ppo", timer, extra)


def _progress() -> list[Any]:
    """The pipeline's progress display, when a stage captures the library's output."""
    from rlaif.runs.terminal import capturing
    from rlaif.train.progress import TrainingProgress

    return [TrainingProgress("PPO training")] if capturing() else []

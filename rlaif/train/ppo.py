"""PPO against the reward model (TRL 1.12 ``trl.experimental.ppo.PPOTrainer``).

Policy and reference start from the SFT model, the value model from the reward model, and the
prompts are tokenized with the policy's chat template. Two safeguards stop training, saying why:
the KL to the reference (``objective/kl``, summed over the response) exceeding ``kl_budget``, and
the mean probability ratio of the update (``val/ratio``) leaving ``ratio_band``. TRL's PPO loop
does not read ``control.should_training_stop``, so the trainer here swaps in a callback handler
that ends the loop at the step boundary (see :mod:`rlaif.train.safeguards`). It also logs the
rollouts' mean response length and EOS rate, which TRL does not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from rlaif.data import rows_to_dataset
from rlaif.errors import ConfigError
from rlaif.train.config import TrainConfig, build_trl_config, coerce_config
from rlaif.train.data import prompts_within_length
from rlaif.train.loading import (
    check_same_tokenizer,
    load_reward_model,
    load_tokenizer,
    load_training_lm,
)
from rlaif.train.lora import peft_config
from rlaif.train.runs import (
    StepTimer,
    TrainResult,
    first_logged,
    last_logged,
    save_model,
    write_run_files,
)
from rlaif.train.safeguards import Safeguard

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

LOGGED = (
    "objective/scores",
    "objective/rlhf_reward",
    "objective/kl",
    "objective/entropy",
    "rollout/response_length",
    "rollout/eos_rate",
    "val/ratio",
)


class PPOTrainConfig(TrainConfig):
    """``rlaif train ppo``: optimise the policy against the reward model."""

    dataset: str
    """Prompt file (``{"id", "prompt": [messages], "category"}`` per line); any file with a
    ``prompt`` column works, duplicates are dropped."""
    reward_model: str | None = None
    """Trained reward model folder (``rlaif train rm`` output)."""
    value_model: str | None = None
    """Where the value model starts (default: the reward model)."""
    ref_model: str | None = None
    """Reference policy for the KL penalty (default: ``model``; with LoRA the policy with its
    adapter switched off)."""
    learning_rate: float = Field(default=3e-6, gt=0.0)
    """Peak learning rate of AdamW (policy and value head together)."""
    total_episodes: int | None = Field(default=None, ge=1)
    """Prompts to roll out in all (default: ``num_train_epochs`` × prompts; ``max_steps`` wins)."""
    max_prompt_length: int = Field(default=512, ge=1)
    """Prompts longer than this many tokens are left out."""
    response_length: int = Field(default=64, ge=1)
    """Most new tokens per response."""
    temperature: float = Field(default=0.7, gt=0.0)
    """Sampling temperature of the rollouts."""
    stop_at_eos: bool = True
    """End responses at the EOS token (else every response runs ``response_length`` tokens)."""
    missing_eos_penalty: float | None = Field(default=None, ge=0.0)
    """Subtracted from the score of responses that never emit EOS."""
    kl_coef: float = Field(default=0.05, ge=0.0)
    """Weight of the per-token KL penalty against the reference policy."""
    kl_estimator: Literal["k1", "k3"] = "k1"
    """KL estimator (``k3``: lower variance)."""
    cliprange: float = Field(default=0.2, gt=0.0)
    """Policy ratio clip range."""
    cliprange_value: float = Field(default=0.2, gt=0.0)
    """Value prediction clip range."""
    vf_coef: float = Field(default=0.1, ge=0.0)
    """Weight of the value loss."""
    gamma: float = Field(default=1.0, ge=0.0, le=1.0)
    """Discount factor."""
    lam: float = Field(default=0.95, ge=0.0, le=1.0)
    """GAE lambda."""
    num_ppo_epochs: int = Field(default=4, ge=1)
    """Optimisation epochs over each batch of rollouts."""
    num_mini_batches: int = Field(default=1, ge=1)
    """Mini-batches per batch of rollouts."""
    whiten_rewards: bool = False
    """Whiten the rewards (needs mini-batches of 8 or more per device)."""
    local_rollout_forward_batch_size: int = Field(default=16, ge=1)
    """Sequences per no-grad forward pass during rollouts."""
    kl_budget: float | None = Field(default=None, gt=0.0)
    """Stop when ``objective/kl`` (nats, summed over the response) exceeds this."""
    ratio_band: tuple[float, float] | None = (0.5, 2.0)
    """Stop when the mean probability ratio ``val/ratio`` leaves ``[low, high]``."""
    safeguard_patience: int = Field(default=1, ge=1)
    """Logged steps in a row a limit must be broken before training stops."""


def _tokenized_prompts(config: PPOTrainConfig, tokenizer: Any) -> tuple[Any, dict[str, Any]]:
    pairs, stats = prompts_within_length(
        config.dataset, tokenizer, config.max_prompt_length, limit=config.limit
    )
    encoded = [{"input_ids": ids} for _, ids in pairs]
    return rows_to_dataset(encoded, ["input_ids"]), stats.as_dict()


def _trl_config(config: PPOTrainConfig, n_prompts: int) -> Any:
    from accelerate import PartialState
    from trl.experimental.ppo import PPOConfig

    total_episodes = config.total_episodes
    if config.max_steps > 0:
        world = PartialState().num_processes
        per_step = config.per_device_train_batch_size * config.gradient_accumulation_steps * world
        total_episodes = config.max_steps * per_step
    ours = {
        **config.base_trl_kwargs(),
        "total_episodes": total_episodes,
        "response_length": config.response_length,
        "temperature": config.temperature,
        "stop_token": "eos" if config.stop_at_eos else None,
        "missing_eos_penalty": config.missing_eos_penalty,
        "kl_coef": config.kl_coef,
        "kl_estimator": config.kl_estimator,
        "cliprange": config.cliprange,
        "cliprange_value": config.cliprange_value,
        "vf_coef": config.vf_coef,
        "gamma": config.gamma,
        "lam": config.lam,
        "num_ppo_epochs": config.num_ppo_epochs,
        "num_mini_batches": config.num_mini_batches,
        "whiten_rewards": config.whiten_rewards,
        "local_rollout_forward_batch_size": config.local_rollout_forward_batch_size,
        "num_sample_generations": 0,
        "sft_model_path": config.model,
        "reward_model_path": config.reward_model or "",
    }
    return build_trl_config(PPOConfig, ours, config.trl_args)


def train_ppo(
    config: PPOTrainConfig | dict[str, Any] | str | Path,
    *,
    reward_model: Any = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Run PPO and write the run folder (the policy is saved).

    ``reward_model`` may be a loaded module instead of ``config.reward_model``: anything with
    TRL's reward-model shape (``base_model_prefix`` backbone returning hidden states and a
    ``score`` head), such as a sequence classifier or a rule-based scorer."""
    # Imported here: it subclasses TRL's PPOTrainer, so importing it loads torch and TRL.
    from rlaif.train.ppo_trainer import GuardedPPOTrainer

    config = coerce_config(PPOTrainConfig, config)
    if config.resume_from_checkpoint:
        raise ConfigError("TRL's PPOTrainer cannot resume from a checkpoint; start a new run")
    if reward_model is None and config.reward_model is None:
        raise ConfigError("PPO needs a reward model: set reward_model")
    value_source = config.value_model or config.reward_model
    if value_source is None:
        raise ConfigError("set value_model (the reward model was given as a module)")
    common = config.model_options()

    tokenizer = load_tokenizer(
        config.model, padding_side="left", trust_remote_code=config.trust_remote_code
    )
    for role, source in (("reward model", config.reward_model), ("value model", value_source)):
        if source is not None and not (role == "reward model" and reward_model is not None):
            check_same_tokenizer(tokenizer, source, role)
    train_dataset, data_stats = _tokenized_prompts(config, tokenizer)
    policy = load_training_lm(config.model, tokenizer, **common)
    ref = None
    if config.lora is None:
        ref = load_training_lm(config.ref_model or config.model, tokenizer, **common)
    if reward_model is None:
        assert config.reward_model is not None
        reward_model = load_reward_model(config.reward_model, tokenizer, **common)
    value_model = load_reward_model(value_source, tokenizer, **common)

    safeguard = Safeguard(
        kl_key="objective/kl",
        kl_budget=config.kl_budget,
        ratio_key="val/ratio",
        ratio_band=config.ratio_band,
        patience=config.safeguard_patience,
    )
    timer = StepTimer()
    trainer = GuardedPPOTrainer(
        args=_trl_config(config, len(train_dataset)),
        processing_class=tokenizer,
        model=policy,
        ref_model=ref,
        reward_model=reward_model,
        value_model=value_model,
        train_dataset=train_dataset,
        eval_dataset=train_dataset.select(range(min(8, len(train_dataset)))),
        peft_config=peft_config(config.lora),
        callbacks=[timer, safeguard, *(callbacks or [])],
    )
    trainer.train()
    history = trainer.state.log_history
    extra: dict[str, Any] = {
        "first": {key: first_logged(history, key) for key in LOGGED},
        "last": {key: last_logged(history, key) for key in LOGGED},
        "stopped_early": safeguard.reason.as_dict() if safeguard.reason else None,
        "data": data_stats,
    }
    if safeguard.reason is not None and trainer.accelerator.is_main_process:
        print(f"rlaif: {safeguard.reason.message}")
    policy_module = trainer.accelerator.unwrap_model(trainer.model).policy
    save_model(trainer, policy_module, Path(config.output_dir), merge_lora=config.merge_lora)
    return write_run_files(trainer, config, "ppo", timer, extra)

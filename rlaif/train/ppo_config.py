"""``rlaif train ppo``'s settings: where the rewards come from, the rollouts, the PPO update, the
KL penalty and the safeguards (rlaif's own trainer, :mod:`rlaif.train.ppo_trainer`)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from rlaif.errors import ConfigError
from rlaif.train.config import TrainConfig
from rlaif.train.online import JudgeRewardSettings


class PPOTrainConfig(TrainConfig):
    """``rlaif train ppo``: optimise the policy against a reward model, the AI judge or (from
    Python) a reward function, with PPO."""

    dataset: str
    """Prompt file (``{"id", "prompt": [messages], "category"}`` per line); any file with a
    ``prompt`` column works, duplicates are dropped."""
    reward: Literal["model", "judge"] = "model"
    """Reward source: the trained reward ``model``, or the AI ``judge`` directly (its probability
    that the response beats a baseline). From Python, ``train_ppo(..., reward_fn=f)`` takes any
    function ``f(prompts, completions, **columns) -> list[float]`` instead."""
    reward_model: str | None = None
    """Trained reward model folder (``rlaif train rm`` output), for ``reward: model``."""
    judge: JudgeRewardSettings | None = None
    """Judge settings, for ``reward: judge``."""
    value_model: str | None = None
    """Start a separate value model from this sequence-classifier folder (such as the reward
    model). Default: a linear value head on the policy's last hidden state (detached, so only
    the policy loss moves the policy), which shares the policy's forward and backward pass: about
    half the arithmetic of a separate model."""
    ref_model: str | None = None
    """Reference policy for the KL penalty (default: ``model``; with LoRA the policy with its
    adapter switched off)."""
    learning_rate: float = Field(default=3e-6, gt=0.0)
    """Peak learning rate of AdamW (the policy, and the value function unless
    ``value_learning_rate`` is set)."""
    value_learning_rate: float | None = Field(default=None, gt=0.0)
    """Peak learning rate of the value function (the value head, or the separate value model),
    on the same schedule; default: ``learning_rate``. A fresh value head is a linear regression
    on the policy's hidden state: at a policy's learning rate (1e-5) it barely moves in tens of
    steps, so the advantages get no baseline."""
    lr_scheduler: Literal["linear", "constant", "cosine"] = "linear"
    """Learning-rate schedule over the PPO steps."""
    max_grad_norm: float | None = Field(default=None, gt=0.0)
    """Clip the gradient norm of each optimizer step to this (default: no clipping)."""
    logging_steps: int = Field(default=1, ge=1)
    """Log metrics (and check the safeguards) every N PPO steps."""
    total_episodes: int | None = Field(default=None, ge=1)
    """Prompts to roll out in all (default: ``num_train_epochs`` × prompts; ``max_steps`` wins)."""
    max_prompt_length: int = Field(default=512, ge=1)
    """Prompts longer than this many tokens are left out."""
    response_length: int = Field(default=64, ge=1)
    """Most new tokens per response."""
    temperature: float = Field(default=0.7, gt=0.0)
    """Sampling temperature of the rollouts (the log-probabilities are taken at it too)."""
    sample: bool = True
    """Sample the rollouts; ``false`` decodes greedily (deterministic: for debugging, and for
    comparing runs across process counts)."""
    stop_at_eos: bool = True
    """End responses at the EOS token (else every response runs ``response_length`` tokens)."""
    missing_eos_penalty: float | None = Field(default=None, ge=0.0)
    """Subtracted from the score of responses that never emit EOS."""
    kl_coef: float = Field(default=0.05, ge=0.0)
    """Weight of the per-token KL penalty against the reference policy (the starting value when
    ``kl_target`` is set)."""
    kl_target: float | None = Field(default=None, gt=0.0)
    """Adapt ``kl_coef`` so that the KL a response (nats, summed over its tokens) approaches this
    (Ziegler et al. 2019); default: a fixed coefficient."""
    kl_horizon: int = Field(default=10_000, ge=1)
    """Episodes over which the adaptive coefficient moves by at most 20%."""
    kl_estimator: Literal["k1", "k3"] = "k1"
    """KL estimator (``k3``: lower variance, never negative)."""
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
    """Mini-batches per batch of rollouts (one optimizer step each)."""
    whiten_rewards: bool = False
    """Whiten the per-token rewards over the batch (scale only, the mean is kept)."""
    local_rollout_forward_batch_size: int = Field(default=16, ge=1)
    """Sequences per generation call and per no-grad forward pass during rollouts."""
    kl_budget: float | None = Field(default=None, gt=0.0)
    """Stop when ``objective/kl`` (nats, summed over the response) exceeds this."""
    ratio_band: tuple[float, float] | None = (0.5, 2.0)
    """Stop when the mean probability ratio ``val/ratio`` leaves ``[low, high]``."""
    safeguard_patience: int = Field(default=1, ge=1)
    """Logged steps in a row a limit must be broken before training stops."""

    @model_validator(mode="after")
    def _check(self) -> PPOTrainConfig:
        if self.trl_args:
            raise ValueError(
                "trl_args: PPO is rlaif's own trainer, there is no TRL config to pass them to"
            )
        if self.local_batch_size % self.num_mini_batches:
            raise ValueError(
                f"num_mini_batches ({self.num_mini_batches}) must divide the rollouts a process "
                f"makes per step (per_device_train_batch_size × gradient_accumulation_steps = "
                f"{self.local_batch_size})"
            )
        if (self.local_batch_size // self.num_mini_batches) % self.per_device_train_batch_size:
            raise ValueError(
                "each mini-batch must be a whole number of per_device_train_batch_size "
                "micro-batches: use gradient_accumulation_steps divisible by num_mini_batches"
            )
        return self

    @property
    def local_batch_size(self) -> int:
        """Rollouts one process makes per PPO step."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps

    def total_steps(self, n_prompts: int, processes: int) -> int:
        """PPO steps of the run: ``max_steps``, else the episodes over the global batch."""
        if self.max_steps > 0:
            return self.max_steps
        episodes = self.total_episodes or int(self.num_train_epochs * n_prompts)
        return max(1, math.ceil(episodes / (self.local_batch_size * processes)))

    def check_reward_source(self, has_function: bool) -> None:
        """Refuse a run with no reward, or with two."""
        if has_function:
            return
        if self.reward == "model" and self.reward_model is None:
            raise ConfigError("PPO needs a reward: set reward_model (or reward: judge)")
        if self.reward == "judge" and self.judge is None:
            raise ConfigError("reward: judge needs a judge section (model, constitution)")

"""What GRPO and RLOO share: prompt data, the reward source and the run itself.

The reward is either the trained reward model (a sequence classifier passed to TRL as one of
``reward_funcs``) or the AI judge itself (direct RLAIF, no reward model), scored by the judge
layer's reward function in ``rlaif.judge.reward``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from rlaif.data import DataFileError, rows_to_dataset
from rlaif.errors import ConfigError
from rlaif.judge.reward import JudgeReward
from rlaif.models import get_model
from rlaif.train.config import TrainConfig, _Config
from rlaif.train.data import DataStats, prompts_within_length
from rlaif.train.fused_head import during_training
from rlaif.train.loading import load_reward_model, load_tokenizer, load_training_lm
from rlaif.train.run_folder import (
    TrainResult,
    finish,
    first_logged,
    fit,
    last_logged,
)
from rlaif.train.safeguards import Safeguard

LOGGED = ("reward", "reward_std", "kl", "entropy", "completions/mean_length")


class JudgeRewardSettings(_Config):
    """The AI judge as the reward: each completion is scored by the judge's probability (logprob
    mode) that it beats a baseline response to the same prompt."""

    model: str
    """Judge backend, ``provider/model`` (``hf/...``, ``openai/...``, ``fake/...``)."""
    model_options: dict[str, Any] = Field(default_factory=dict)
    """Options for the judge model (``base_url``, ``api_key_env``, backend options)."""
    constitution: str = "cai-harmless"
    """Built-in constitution name or path whose principles the judge applies."""
    both_orders: bool = True
    """Judge each comparison in both presentation orders (cancels position bias)."""
    principles_per_pair: int | None = Field(default=None, ge=1)
    """Principles sampled per comparison (default: the constitution's)."""
    baseline: str | None = None
    """A fixed baseline response, used when the prompts have no ``baseline_column``."""
    baseline_column: str = "reference"
    """Prompt-file field holding each prompt's baseline response (string or messages)."""
    missing_reward: float | None = None
    """Reward for an unusable verdict (default: none, TRL leaves that completion out)."""
    concurrency: int = Field(default=8, ge=1)
    """Judge calls in flight at once."""


class OnlineRLConfig(TrainConfig):
    """Fields shared by GRPO and RLOO."""

    dataset: str
    """Prompt file (``{"id", "prompt": [messages], "category"}`` per line); any file with a
    ``prompt`` column works, duplicates are dropped."""
    reward: Literal["model", "judge"] = "model"
    """Reward source: the trained reward ``model``, or the AI ``judge`` directly."""
    reward_model: str | None = None
    """Reward model folder (``reward: model``)."""
    judge: JudgeRewardSettings | None = None
    """Judge settings (``reward: judge``)."""
    learning_rate: float = Field(default=1e-6, gt=0.0)
    """Peak learning rate of AdamW."""
    num_generations: int = Field(default=4, ge=2)
    """Completions sampled per prompt (the group whose rewards are compared)."""
    max_prompt_length: int = Field(default=512, ge=1)
    """Prompts longer than this many tokens are left out."""
    max_completion_length: int = Field(default=64, ge=1)
    """Most new tokens per completion."""
    temperature: float = Field(default=1.0, gt=0.0)
    """Sampling temperature."""
    epsilon: float = Field(default=0.2, gt=0.0)
    """Clip range of the probability ratio."""
    num_iterations: int = Field(default=1, ge=1)
    """Optimisation passes over each batch of generations."""
    kl_budget: float | None = Field(default=None, gt=0.0)
    """Stop when the logged mean per-token KL (``kl``, only with ``beta > 0``) exceeds this."""
    safeguard_patience: int = Field(default=1, ge=1)
    """Logged steps in a row over the budget before training stops."""

    algorithm_fields: ClassVar[tuple[str, ...]] = ()
    """The subclass's own fields, passed to its TRL config under the same names."""

    def online_trl_kwargs(self) -> dict[str, Any]:
        """Our fields as GRPO/RLOO config arguments (with the algorithm's own fields)."""
        return {
            **self.base_trl_kwargs(),
            **{name: getattr(self, name) for name in self.algorithm_fields},
            "num_generations": self.num_generations,
            "max_completion_length": self.max_completion_length,
            "temperature": self.temperature,
            "epsilon": self.epsilon,
            "num_iterations": self.num_iterations,
        }


def baseline_columns(config: Any) -> list[str]:
    """The prompt-file column the judge reward reads its baselines from (none unless the reward
    is the judge). ``config`` is an online RL or PPO config."""
    judge = config.judge if config.reward == "judge" else None
    return [judge.baseline_column] if judge is not None else []


def prompts_for_reward(config: Any, tokenizer: Any) -> tuple[list[Any], DataStats]:
    """The prompts within ``max_prompt_length`` with their token ids (and the judge's baseline
    column when the reward is the judge: refused when a prompt lacks one and no fixed baseline is
    set). ``config`` is an online RL or PPO config."""
    judge = config.judge if config.reward == "judge" else None
    extra = baseline_columns(config)
    pairs, stats = prompts_within_length(
        config.dataset, tokenizer, config.max_prompt_length, limit=config.limit, extra_columns=extra
    )
    has_baselines = all(judge.baseline_column in row for row, _ in pairs) if judge else True
    if judge is not None and judge.baseline is None and not has_baselines:
        raise DataFileError(
            f"{config.dataset}: the judge reward needs a baseline: give every prompt a "
            f"'{judge.baseline_column}' field or set judge.baseline"
        )
    return pairs, stats


def prompt_dataset(config: OnlineRLConfig, tokenizer: Any) -> tuple[Any, dict[str, Any]]:
    """Conversational ``prompt`` column (plus the judge's baseline column when the prompts have
    one), without prompts over ``max_prompt_length`` tokens."""
    pairs, stats = prompts_for_reward(config, tokenizer)
    kept = [row for row, _ in pairs]
    columns = [c for c in ("prompt", *baseline_columns(config)) if all(c in row for row in kept)]
    return rows_to_dataset(kept, columns), stats.as_dict()


def reward_functions(config: OnlineRLConfig) -> tuple[list[Any], list[Any]]:
    """TRL ``reward_funcs`` and their ``reward_processing_classes`` for the configured source."""
    if config.reward == "model":
        if config.reward_model is None:
            raise ConfigError("reward: model needs reward_model (a reward model folder)")
        tokenizer = load_tokenizer(config.reward_model, trust_remote_code=config.trust_remote_code)
        model = load_reward_model(config.reward_model, tokenizer, **config.model_options())
        return [model], [tokenizer]
    if config.judge is None:
        raise ConfigError("reward: judge needs a judge section (model, constitution)")
    return [judge_reward(config.judge, seed=config.seed)], [None]


def judge_reward(settings: JudgeRewardSettings, *, seed: int = 0) -> Any:
    """The judge layer's TRL reward callable (``rlaif.judge.reward.JudgeReward``)."""
    return JudgeReward.create(
        get_model(settings.model, **settings.model_options),
        settings.constitution,
        both_orders=settings.both_orders,
        principles_per_pair=settings.principles_per_pair,
        seed=seed,
        baseline=settings.baseline,
        baseline_column=settings.baseline_column,
        missing_reward=settings.missing_reward,
        concurrency=settings.concurrency,
    )


@during_training
def run_online(
    algorithm: Literal["grpo", "rloo"],
    config: OnlineRLConfig,
    trainer_class: type,
    trl_config_class: type,
    *,
    reward_funcs: list[Any] | None = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Build the policy, rewards and trainer, train, and write the run folder."""
    tokenizer = load_tokenizer(
        config.model, padding_side="left", trust_remote_code=config.trust_remote_code
    )
    train_dataset, data_stats = prompt_dataset(config, tokenizer)
    if reward_funcs is None:
        reward_funcs, processing_classes = reward_functions(config)
    else:
        processing_classes = [None] * len(reward_funcs)
    model = load_training_lm(config.model, tokenizer, **config.model_options())
    safeguard = Safeguard(
        kl_key="kl", kl_budget=config.kl_budget, patience=config.safeguard_patience
    )
    fitted = fit(
        trainer_class,
        config,
        trl_config_class,
        config.online_trl_kwargs(),
        callbacks=callbacks,
        guards=[safeguard],
        model=model,
        reward_funcs=reward_funcs,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        reward_processing_classes=processing_classes,
    )
    history = fitted.trainer.state.log_history
    extra: dict[str, Any] = {
        "reward_source": config.reward,
        "first": {key: first_logged(history, key) for key in LOGGED},
        "last": {key: last_logged(history, key) for key in LOGGED},
        "stopped_early": safeguard.reason.as_dict() if safeguard.reason else None,
        "data": data_stats,
    }
    return finish(fitted, config, algorithm, extra)

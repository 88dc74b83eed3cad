"""The AI judge used directly as a reward function for GRPO/RLOO (direct RLAIF: no reward model).

:class:`JudgeReward` is a callable in the form TRL's ``GRPOTrainer``/``RLOOTrainer`` call
``reward_funcs``: ``reward(prompts=..., completions=..., completion_ids=..., **columns)`` returning
one float per completion. Each completion is scored as the judge's probability (``logprob`` mode,
both orders by default) that it beats a baseline response: a dataset column (``reference`` by
default) or a fixed string. A missing verdict gives ``None`` (TRL then leaves that reward out)
unless ``missing_reward`` is set.

``__call__`` is a coroutine: TRL (since 0.27) runs async reward functions on its own event loop
thread and awaits them together, as its maintainers recommend for judges; from plain Python,
``asyncio.run(reward(prompts=..., completions=...))``. Nothing here imports torch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rlaif.constitution import Constitution, load_constitution
from rlaif.errors import ConfigError
from rlaif.judge.judgment import Judgment
from rlaif.judge.modes import LogprobMode
from rlaif.judge.pairwise import PairwiseJudge
from rlaif.judge.shortening import DEFAULT_MAX_PROMPT_CHARS
from rlaif.models import Model, get_model


def message_text(value: Any) -> str:
    """The text of a completion or baseline: a string, or the assistant turns of a message list
    (TRL's conversational format)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("content", ""))
    if isinstance(value, Sequence):
        parts = [m.get("content", "") for m in value if isinstance(m, dict)]
        return "".join(str(p) for p in parts)
    raise TypeError(f"cannot read text from {type(value).__name__}")


def prompt_messages(prompt: Any) -> list[dict[str, str]]:
    """A TRL prompt (a string or a message list) as chat messages."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]


class JudgeReward:
    """Reward = P(completion beats the baseline), from a pairwise AI judge.

    Args:
        judge: a :class:`PairwiseJudge` in ``logprob`` mode (see :meth:`create`).
        baseline_column: dataset column holding each prompt's baseline response.
        baseline: a fixed baseline used when the column is absent (or instead of it).
        missing_reward: reward for a missing verdict (default ``None``: TRL skips it).
        concurrency: judge calls in flight at once.
        name: the name TRL logs the reward under.
    """

    def __init__(
        self,
        judge: PairwiseJudge,
        *,
        baseline_column: str = "reference",
        baseline: str | None = None,
        missing_reward: float | None = None,
        concurrency: int = 8,
        name: str = "judge_reward",
    ):
        if not isinstance(judge.mode, LogprobMode):
            raise ConfigError(
                "JudgeReward needs a judge in 'logprob' mode (one forward pass per order, soft "
                f"probabilities); got mode {judge.mode.name!r}"
            )
        self.judge = judge
        self.baseline_column = baseline_column
        self.baseline = baseline
        self.missing_reward = missing_reward
        self.concurrency = concurrency
        self.__name__ = name
        self.last_judgments: list[Judgment] = []

    @classmethod
    def create(
        cls,
        judge: str | Model,
        constitution: str | Constitution = "cai-harmless",
        *,
        both_orders: bool = True,
        principles_per_pair: int | None = None,
        seed: int = 0,
        max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
        **options: Any,
    ) -> JudgeReward:
        """Build the reward from a judge name (``provider/model``) or model and a constitution
        name or object; a conversation longer than ``max_prompt_chars`` is shortened for the
        judge, with a visible mark (as in :class:`PairwiseJudge`); other keyword arguments go to
        :class:`JudgeReward`."""
        model = get_model(judge) if isinstance(judge, str) else judge
        loaded = load_constitution(constitution) if isinstance(constitution, str) else constitution
        pairwise = PairwiseJudge(
            model,
            loaded,
            mode="logprob",
            both_orders=both_orders,
            principles_per_pair=principles_per_pair,
            seed=seed,
            max_prompt_chars=max_prompt_chars,
        )
        return cls(pairwise, **options)

    def _baselines(self, count: int, columns: dict[str, Any]) -> list[str]:
        column = columns.get(self.baseline_column)
        if column is not None:
            if len(column) != count:
                raise ConfigError(
                    f"column {self.baseline_column!r} has {len(column)} values for {count} "
                    "completions"
                )
            return [message_text(v) for v in column]
        if self.baseline is None:
            raise ConfigError(
                f"no baseline: the dataset has no {self.baseline_column!r} column and no fixed "
                "baseline string was given"
            )
        return [self.baseline] * count

    async def score(
        self, prompts: Sequence[Any], completions: Sequence[Any], baselines: Sequence[str]
    ) -> list[float | None]:
        """P(completion beats baseline) for each row (``missing_reward`` where missing)."""
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(prompt: Any, completion: Any, baseline: str) -> Judgment:
            async with semaphore:
                return await self.judge.compare(
                    prompt_messages(prompt), message_text(completion), baseline
                )

        judgments = await asyncio.gather(
            *(one(p, c, b) for p, c, b in zip(prompts, completions, baselines, strict=True))
        )
        self.last_judgments = list(judgments)
        return [
            j.p_response_1 if j.p_response_1 is not None else self.missing_reward for j in judgments
        ]

    async def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Any] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        """Score a batch the way TRL's GRPO/RLOO trainers call async reward functions."""
        baselines = self._baselines(len(completions), columns)
        rewards = await self.score(prompts, completions, baselines)
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            self._log(log_metric)
        return rewards

    def _log(self, log_metric: Any) -> None:
        judged = self.last_judgments
        if not judged:
            return
        log_metric(f"{self.__name__}/missing", sum(j.missing for j in judged) / len(judged))
        both = [j for j in judged if j.consistent is not None]
        if both:
            log_metric(
                f"{self.__name__}/consistent", sum(bool(j.consistent) for j in both) / len(both)
            )

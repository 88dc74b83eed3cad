"""Pairwise accuracy of a reward model on preference pairs (held-out AI labels, human labels).

Scores come from :class:`rlaif.models.local.RewardScorer`, the scorer ``rlaif eval rm``
uses, and accuracy is :func:`rlaif.data.accuracy.reward_pair_correctness` averaged (ties
count half), so ``train rm`` and ``eval rm`` report the same accuracy for the same model and pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rlaif.data.accuracy import reward_pair_correctness
from rlaif.models.local import RewardScorer


class PairwiseAccuracy(BaseModel):
    """A reward model's accuracy on one set of preference pairs."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    file: str | None = Field(default=None, exclude_if=lambda v: v is None)
    """The pairs file (human-labelled pairs only)."""
    accuracy: float | None
    """Share of pairs whose chosen reply scores higher; a tie counts half."""
    n: int
    """Pairs scored."""
    ties: int
    """Pairs whose two replies score the same (``sigmoid`` of the gap within
    :data:`~rlaif.data.accuracy.TIE_TOLERANCE` of 0.5); each counts half."""
    mean_reward_gap: float | None
    """Mean of ``score(chosen) - score(rejected)``."""
    truncated_sequences: int
    """Sequences cut to ``max_length`` (their start dropped) before scoring."""


class RewardAccuracy(BaseModel):
    """The ``accuracy`` entry of ``train rm``'s ``metrics.json``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    ai_heldout: PairwiseAccuracy | None = None
    """On the held-out AI-labelled pairs (``None``: nothing held out)."""
    human: PairwiseAccuracy | None = None
    """On the human-labelled pairs (``None``: none given)."""


def pairwise_accuracy(
    scorer: RewardScorer,
    rows: list[dict[str, Any]],
    *,
    batch_size: int = 8,
    file: str | None = None,
) -> PairwiseAccuracy:
    """How often ``chosen`` scores above ``rejected`` (``prompt``/``chosen``/``rejected``
    messages per row); ties count half."""
    before = scorer.truncated
    chosen = scorer.score([row["prompt"] + row["chosen"] for row in rows], batch_size=batch_size)
    rejected = scorer.score(
        [row["prompt"] + row["rejected"] for row in rows], batch_size=batch_size
    )
    correct = reward_pair_correctness(chosen, rejected)
    n = len(rows)
    return PairwiseAccuracy(
        file=file,
        accuracy=float(correct.mean()) if n else None,
        n=n,
        ties=int(np.sum(correct == 0.5)),
        mean_reward_gap=float(np.mean(chosen - rejected)) if n else None,
        truncated_sequences=scorer.truncated - before,
    )

"""Typed results of ``rlaif eval rm``: score margins and distributions, the order check, and
the run's ``metrics.json`` (:class:`RewardModelMetrics`)."""

from __future__ import annotations

from typing import Any, Literal

from rlaif.eval.agreement import JudgeMetrics
from rlaif.eval.results import BootstrapInfo, Histogram, MetricsModel, omitted_when_none


class MarginSummary(MetricsModel):
    """Distribution of ``score(chosen) - score(rejected)``."""

    mean: float
    """Mean margin."""
    median: float
    """Median margin."""
    std: float
    """Standard deviation."""
    fraction_positive: float
    """Share of pairs with a positive margin."""
    histogram: Histogram
    """Margin histogram."""


class ScoreDistribution(MetricsModel):
    """Reward scores of one side of the pairs."""

    mean: float
    """Mean score."""
    std: float
    """Standard deviation."""
    histogram: Histogram
    """Score histogram (bins shared by both sides)."""


class ScoreDistributions(MetricsModel):
    """Scores of the human-preferred and the other reply."""

    chosen: ScoreDistribution
    """Human-preferred replies."""
    rejected: ScoreDistribution
    """The other replies."""


class Correlation(MetricsModel):
    """Spearman correlation of scores with reply length."""

    rho: float
    """Rank correlation."""
    p_value: float
    """Its p-value."""


class OrderCheck(MetricsModel):
    """Batched scores against one-by-one scores in reverse order."""

    pairs: int
    """Pairs re-scored."""
    max_abs_difference: float | None
    """Largest score difference."""
    verdict_flips: int
    """Pairs whose verdict changed."""
    tolerance: float | None = omitted_when_none()
    """Largest accepted difference."""
    passed: bool | None
    """Whether the check passed (``None``: not run)."""


class RewardModelMetrics(MetricsModel):
    """``metrics.json`` of ``rlaif eval rm``."""

    kind: Literal["rm"] = "rm"
    """Report kind."""
    model: str
    """Reward-model folder."""
    n_pairs: int
    """Human-labelled pairs."""
    data: dict[str, Any]
    """What was read (source, records, skipped)."""
    judges: list[str]
    """The reward model's row name."""
    baselines: list[str]
    """Trivial baseline rows."""
    results: dict[str, JudgeMetrics]
    """Agreement metrics of the reward model and the baselines."""
    margin: MarginSummary
    """Score margins."""
    scores: ScoreDistributions
    """Score distributions."""
    length_spearman: Correlation | None
    """Scores against reply length (``None``: constant scores)."""
    order_check: OrderCheck
    """Order/batching check."""
    settings: dict[str, Any]
    """Run settings."""
    bootstrap: BootstrapInfo
    """Interval settings."""

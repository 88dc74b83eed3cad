"""Typed results of ``rlaif eval agreement``: every metric of one judge, reward model or
baseline (:class:`JudgeMetrics`), the leaderboard, per-principle agreement, and the run's
``metrics.json`` (:class:`AgreementMetrics`)."""

from __future__ import annotations

from typing import Any, Literal

from rlaif.eval.bootstrap import Estimate
from rlaif.eval.results import (
    BootstrapInfo,
    CalibrationBin,
    Confusion,
    HumanAgreementMetrics,
    MetricsModel,
    omitted_when_none,
)


class BaselineDifference(MetricsModel):
    """A judge's accuracy minus the best trivial baseline's, paired bootstrap."""

    baseline: str
    """Name of the best trivial baseline."""
    accuracy_difference: Estimate
    """Accuracy difference on the pairs both answered."""


class PrincipleAgreement(MetricsModel):
    """One principle of a judge taken alone: its own verdict on the pairs judged under it
    (:mod:`rlaif.eval.agreement.principles`)."""

    principle: str
    """Principle id."""
    n: int
    """Pairs judged under this principle (it is in the judgment's ``principles``)."""
    n_missing: int
    """Of those, pairs where a vote of this principle is missing (left out below)."""
    agreement: float | None
    """Agreement of the principle's own verdict with the human label; a tie counts half."""
    low: float | None
    """Lower end of the 95% bootstrap interval of ``agreement``."""
    high: float | None
    """Upper end of the interval."""
    decided: float | None
    """Share of pairs where the principle's own verdict points the same way as the judgment's
    (pairs where either is a tie or missing left out): how often it carries the ensemble."""
    n_decided: int
    """Pairs ``decided`` is taken over."""


class JudgeMetrics(MetricsModel):
    """Every agreement metric of one judge, reward model or baseline (a ``results`` row)."""

    name: str
    """Leaderboard name."""
    kind: str
    """``judge`` or ``baseline``."""
    mode: str
    """How verdicts were read (or the baseline rule)."""
    n_pairs: int
    """Pairs measured."""
    n_answered: int
    """Pairs with a verdict."""
    accuracy: Estimate
    """Agreement with the human label over answered pairs; a tie counts half."""
    accuracy_missing_as_chance: Estimate
    """Agreement with missing verdicts scored 0.5."""
    soft_accuracy: Estimate
    """Mean probability given to the human-preferred reply."""
    kappa: Estimate
    """Cohen's kappa of verdicts (tie its own label) against human labels."""
    consistency: Estimate | None
    """Share of pairs with the same verdict in both orders (``None``: one order only)."""
    position_free: bool
    """Each reply scored alone (pointwise): no position bias possible."""
    first_position_rate: Estimate
    """Share of decided verdicts picking the reply shown first."""
    prefer_longer_rate: Estimate
    """Share of verdicts picking the longer reply."""
    accuracy_human_longer: Estimate
    """Agreement on pairs where the human chose the longer reply."""
    accuracy_human_shorter: Estimate
    """Agreement on pairs where the human chose the shorter reply."""
    tie_rate: Estimate
    """Share of answered pairs judged a tie."""
    missing_rate: Estimate
    """Share of pairs without a verdict."""
    brier: float | None
    """Brier score of the symmetrised soft labels."""
    ece: float | None
    """Expected calibration error."""
    calibration_bins: list[CalibrationBin]
    """Reliability-diagram bins."""
    confusion: Confusion
    """Verdict counts per human label."""
    by_subset: dict[str, Estimate]
    """Agreement per data subset."""
    seconds_per_1000: float | None
    """Wall seconds per 1000 pairs."""
    call_seconds_per_1000: float | None
    """Summed call latencies per 1000 pairs."""
    usd_per_1000: float | None
    """Cost per 1000 pairs."""
    tokens_per_pair: float | None
    """Input plus output tokens per pair."""
    calls: int
    """Model calls."""
    cache_hits: int
    """Calls answered from the cache."""
    missing_reasons: dict[str, int]
    """The most common reasons a verdict is missing, with counts."""
    vs_best_baseline: BaselineDifference | None = omitted_when_none()
    """Difference from the best trivial baseline (judges only)."""
    position_prior_logit: float | None = omitted_when_none()
    """First-position prior removed (position-calibrated rows only)."""
    by_principle: list[PrincipleAgreement] | None = omitted_when_none()
    """Each principle's own verdict against the human label, most-used first (judge rows whose
    judgments are at hand; :func:`rlaif.eval.agreement.principles.principle_agreement`)."""


class LeaderboardRow(MetricsModel):
    """One leaderboard line: the point values of the headline metrics."""

    name: str
    """Judge or baseline."""
    kind: str
    """``judge`` or ``baseline``."""
    mode: str
    """Verdict mode or baseline rule."""
    accuracy: float | None
    """Human agreement."""
    kappa: float | None
    """Cohen's kappa."""
    consistency: float | None
    """Position consistency."""
    first_position_rate: float | None
    """Prefers first shown."""
    prefer_longer_rate: float | None
    """Prefers longer."""
    accuracy_human_longer: float | None
    """Agreement (human chose longer)."""
    accuracy_human_shorter: float | None
    """Agreement (human chose shorter)."""
    brier: float | None
    """Brier score."""
    ece: float | None
    """Expected calibration error."""
    missing_rate: float | None
    """Missing verdicts."""
    seconds_per_1000: float | None
    """Wall seconds per 1000 pairs."""
    usd_per_1000: float | None
    """USD per 1000 pairs."""


class AgreementMetrics(MetricsModel):
    """``metrics.json`` of ``rlaif eval agreement``."""

    kind: Literal["agreement"] = "agreement"
    """Report kind."""
    n_pairs: int
    """Human-labelled pairs."""
    human_chose_response_1: int
    """Pairs whose human-preferred reply was shown as response 1."""
    human_chose_longer: int
    """Pairs whose human-preferred reply is the longer one."""
    subsets: dict[str, int]
    """Pairs per data subset."""
    bootstrap: BootstrapInfo
    """Interval settings."""
    judges: list[str]
    """Judge rows, in the order given."""
    baselines: list[str]
    """Baseline rows."""
    best_trivial_baseline: str
    """The trivial baseline with the highest agreement."""
    results: dict[str, JudgeMetrics]
    """Metrics per judge and baseline."""
    leaderboard: list[LeaderboardRow]
    """Rows, best agreement first."""
    data: dict[str, Any] | None = omitted_when_none()
    """What was read (source, records, skipped)."""
    settings: dict[str, Any] | None = omitted_when_none()
    """Run settings (limit, seed, judges, pair fingerprint)."""
    human: HumanAgreementMetrics | None = omitted_when_none()
    """Inter-annotator agreement, when the pairs are your own human labels (a labels file and
    its pairs): the majority label is what the judges are measured against."""

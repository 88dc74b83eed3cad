"""Typed evaluation results: what ``metrics.json`` holds for agreement and reward-model
evaluations (policy evaluation: :mod:`rlaif.eval.policy_results`), as pydantic models built on
:class:`Estimate`.

The computing functions return these models and the report builders read their fields; the file
on disk is ``model.model_dump(mode="json")``. Optional entries that a run adds only in some cases
(a judge's difference from the best baseline, a group without prompts) are left out of the dump
when absent, so the files keep their shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rlaif.eval.bootstrap import Estimate


def _absent(value: Any) -> bool:
    return value is None


def omitted_when_none(**kwargs: Any) -> Any:
    """A field that is left out of ``model_dump`` while it is ``None``."""
    return Field(default=None, exclude_if=_absent, **kwargs)


class MetricsModel(BaseModel):
    """Base of the result models: unknown keys refused, field docstrings as descriptions."""

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class BootstrapInfo(MetricsModel):
    """How the intervals were computed."""

    seed: int
    """Seed of the resampling."""
    n_resamples: int
    """Resamples per interval."""
    confidence: float = 0.95
    """Interval coverage."""
    method: str = "percentile, resampling pairs"
    """Interval method and the resampled unit."""


class Histogram(MetricsModel):
    """``numpy.histogram`` bins."""

    edges: list[float]
    """Bin edges (one more than counts)."""
    counts: list[int]
    """Values per bin."""


class CalibrationBin(MetricsModel):
    """One non-empty bin of the reliability diagram."""

    low: float
    """Lower bin edge."""
    high: float
    """Upper bin edge."""
    mean_predicted: float
    """Mean probability given to the human-preferred reply in the bin."""
    fraction_positive: float
    """Share of the bin's samples that were the human-preferred reply."""
    count: int
    """Samples in the bin."""


class Confusion(MetricsModel):
    """Judge verdicts (columns) per human label (rows)."""

    columns: list[str]
    """Verdict names: response 1, tie, response 2, missing."""
    rows: dict[str, list[int]]
    """Counts per human label."""


class BaselineDifference(MetricsModel):
    """A judge's accuracy minus the best trivial baseline's, paired bootstrap."""

    baseline: str
    """Name of the best trivial baseline."""
    accuracy_difference: Estimate
    """Accuracy difference on the pairs both answered."""


class PrincipleAgreement(MetricsModel):
    """One principle of a judge taken alone: its own verdict on the pairs judged under it
    (:mod:`rlaif.eval.principle_agreement`)."""

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
    judgments are at hand; :func:`rlaif.eval.principle_agreement.principle_agreement`)."""


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


STRENGTH_SUBSETS = {"better": "better", "slightly": "slightly better"}
"""The subset of a pair labelled in a labels file, by the strength of its majority."""


class AnnotatorAgreement(MetricsModel):
    """One annotator measured against the others (a row of the human section)."""

    annotator: str
    """The annotator's name."""
    n_labels: int
    """Pairs this annotator labelled (the latest label of each)."""
    agreement_with_others: Estimate
    """Share of this annotator's labels that match the majority of the *other* annotators of
    the pair, over the pairs where the others have a majority (leave-one-out)."""
    slightly_rate: float | None
    """Share of this annotator's labels marked "slightly" better."""


class HumanAgreementMetrics(MetricsModel):
    """Inter-annotator agreement of a labels file (``rlaif annotate serve`` output): the ceiling
    a judge measured against these labels is compared with."""

    labels_file: str
    """The labels file."""
    pairs_file: str
    """The pair file the labels were given on."""
    annotators: list[str]
    """Annotators with at least one label in force, in order of first label."""
    label_lines: int
    """Lines read (a changed label is a line more)."""
    labels_in_force: int
    """The latest label of each annotator on each pair."""
    pairs_in_file: int
    """Pairs in the pair file."""
    pairs_labelled: int
    """Pairs with at least one label (after ``limit``)."""
    pairs_multiply_labelled: int
    """Pairs labelled by two or more annotators."""
    tied_pairs: int
    """Pairs whose annotators split evenly: no majority, left out of the judge's agreement."""
    pairs_measured: int
    """Pairs with a majority, which the judges are measured on."""
    by_strength: dict[str, int]
    """Measured pairs per strength of the majority (``better``, ``slightly better``)."""
    both_unacceptable: int
    """Measured pairs that at least one annotator flagged as both unacceptable."""
    agreement_with_majority: Estimate | None
    """Each annotator's labels against the majority of the other annotators of the pair
    (leave-one-out), pooled over annotators: the human–human counterpart of a judge's
    agreement (``None``: no pair has two annotators)."""
    cohen_kappa: Estimate | None = omitted_when_none()
    """Cohen's kappa of the two annotators on the pairs both labelled (exactly two annotators;
    scikit-learn, with a bootstrap interval over pairs)."""
    krippendorff_alpha: float | None = omitted_when_none()
    """Krippendorff's alpha, nominal (three or more annotators; the ``krippendorff`` package;
    pairs with one label do not count)."""
    annotator_rows: list[AnnotatorAgreement]
    """Each annotator against the others."""
    notes: list[str] = Field(default_factory=list)
    """Why a figure could not be computed, how ties and strengths were decided."""


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

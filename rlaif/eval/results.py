"""Typed evaluation results shared by every evaluation: the base model of a ``metrics.json``,
interval settings, histograms, calibration bins, and the human annotators' own agreement. Each
evaluation's results live with it (:mod:`rlaif.eval.agreement`, :mod:`rlaif.eval.rm`,
:mod:`rlaif.eval.policy`), as pydantic models built on :class:`Estimate`.

The computing functions return these models and the report builders read their fields; the file
on disk is ``model.model_dump(mode="json")``. Optional entries that a run adds only in some cases
(a judge's difference from the best baseline, a group without prompts) are left out of the dump
when absent, so the files keep their shape.
"""

from __future__ import annotations

from typing import Any

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

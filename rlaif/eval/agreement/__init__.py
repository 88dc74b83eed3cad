"""Judge–human agreement (``rlaif eval agreement``): judges run on human-labelled pairs, every
metric for every judge and trivial baseline, per-principle diagnostics, your own annotators as
the ceiling, and the report.

- :mod:`~rlaif.eval.agreement.run`: the run (:func:`run_agreement`, :class:`JudgeSpec`);
- :mod:`~rlaif.eval.agreement.predictions` and :mod:`~rlaif.eval.agreement.baselines`: the
  pairs as shown and each judge's or baseline's soft verdicts, as aligned arrays;
- :mod:`~rlaif.eval.agreement.measures` (on plain arrays) and
  :mod:`~rlaif.eval.agreement.metrics` (every metric of a row, the leaderboard);
- :mod:`~rlaif.eval.agreement.principles`: each principle's own verdict against the humans;
- :mod:`~rlaif.eval.agreement.humans`: your labels as the reference, inter-annotator agreement;
- :mod:`~rlaif.eval.agreement.results` (``metrics.json``) and
  :mod:`~rlaif.eval.agreement.report`.
"""

from rlaif.eval.agreement.baselines import trivial_baselines
from rlaif.eval.agreement.humans import human_labelled_pairs
from rlaif.eval.agreement.metrics import (
    agreement_metrics,
    judge_metrics,
    paired_difference,
    verdict_sentence,
)
from rlaif.eval.agreement.predictions import (
    PairFrame,
    Predictions,
    assign_positions,
    predictions_from_judgments,
)
from rlaif.eval.agreement.principles import principle_table
from rlaif.eval.agreement.report import agreement_report
from rlaif.eval.agreement.results import AgreementMetrics, BaselineDifference, JudgeMetrics
from rlaif.eval.agreement.run import (
    AgreementSettings,
    JudgeFactory,
    JudgeSpec,
    build_pairwise_judge,
    judge_records,
    run_agreement,
)

__all__ = [
    "AgreementMetrics",
    "AgreementSettings",
    "BaselineDifference",
    "JudgeFactory",
    "JudgeMetrics",
    "JudgeSpec",
    "PairFrame",
    "Predictions",
    "agreement_metrics",
    "agreement_report",
    "assign_positions",
    "build_pairwise_judge",
    "human_labelled_pairs",
    "judge_metrics",
    "judge_records",
    "paired_difference",
    "predictions_from_judgments",
    "principle_table",
    "run_agreement",
    "trivial_baselines",
    "verdict_sentence",
]

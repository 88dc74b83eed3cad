"""Evaluation: judge–human agreement (with biases, calibration and baselines), the agreement
gate, reward-model accuracy, policy evaluation, and reports with plots.

``import rlaif.eval`` stays light: scipy, sklearn and matplotlib load only where a metric or
plot needs them.

- :func:`run_agreement` (:class:`JudgeSpec`, :class:`AgreementSettings`) runs judges on
  human-labelled pairs; :func:`agreement_metrics` computes every metric from aligned arrays.
- :func:`human_labelled_pairs` turns your own labels (``rlaif annotate serve``) and their pair
  file into those pairs, by majority, with the annotators' agreement (kappa, alpha) beside.
- :func:`evaluate_reward_model`, :func:`run_policy_eval`, :func:`write_report`,
  :func:`load_labelled_pairs`.
- The results are typed: :class:`AgreementMetrics` (one :class:`JudgeMetrics` per judge),
  :class:`RewardModelMetrics` and :class:`PolicyMetrics`, each a pydantic model whose JSON dump is
  the run's ``metrics.json``.
"""

from rlaif.eval.agreement import (
    AgreementMetrics,
    AgreementSettings,
    JudgeMetrics,
    JudgeSpec,
    PairFrame,
    Predictions,
    agreement_metrics,
    human_labelled_pairs,
    predictions_from_judgments,
    run_agreement,
)
from rlaif.eval.loaders import load_labelled_pairs
from rlaif.eval.policy import PolicyEvalSettings, PolicyMetrics, run_policy_eval
from rlaif.eval.report import write_report
from rlaif.eval.results import HumanAgreementMetrics
from rlaif.eval.rm import RewardModelMetrics, evaluate_reward_model

__all__ = [
    "AgreementMetrics",
    "AgreementSettings",
    "HumanAgreementMetrics",
    "JudgeMetrics",
    "JudgeSpec",
    "PairFrame",
    "PolicyEvalSettings",
    "PolicyMetrics",
    "Predictions",
    "RewardModelMetrics",
    "agreement_metrics",
    "evaluate_reward_model",
    "human_labelled_pairs",
    "load_labelled_pairs",
    "predictions_from_judgments",
    "run_agreement",
    "run_policy_eval",
    "write_report",
]

"""Evaluation: judge–human agreement (with biases, calibration and baselines), the agreement
gate, reward-model accuracy, policy evaluation, and reports with plots.

Public names are imported on first use, so ``import rlaif.eval`` stays light.

- :func:`run_agreement` (:class:`JudgeSpec`, :class:`AgreementSettings`) runs judges on
  human-labelled pairs; :func:`agreement_metrics` computes every metric from aligned arrays.
- :func:`check_agreement_gate` / :class:`AgreementGate` refuse a judge below a threshold.
- :func:`evaluate_reward_model`, :func:`run_policy_eval`, :func:`write_report`,
  :func:`load_labelled_pairs`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AgreementGate": "rlaif.eval.gate",
    "AgreementGateError": "rlaif.eval.gate",
    "check_agreement_gate": "rlaif.eval.gate",
    "AgreementSettings": "rlaif.eval.agreement_run",
    "JudgeSpec": "rlaif.eval.agreement_run",
    "run_agreement": "rlaif.eval.agreement_run",
    "agreement_metrics": "rlaif.eval.agreement",
    "PairFrame": "rlaif.eval.predictions",
    "Predictions": "rlaif.eval.predictions",
    "predictions_from_judgments": "rlaif.eval.predictions",
    "load_labelled_pairs": "rlaif.eval.loaders",
    "evaluate_reward_model": "rlaif.eval.rm_eval",
    "PolicyEvalSettings": "rlaif.eval.policy_eval",
    "run_policy_eval": "rlaif.eval.policy_eval",
    "write_report": "rlaif.eval.report",
}

__all__ = [
    "AgreementGate",
    "AgreementGateError",
    "AgreementSettings",
    "JudgeSpec",
    "PairFrame",
    "PolicyEvalSettings",
    "Predictions",
    "agreement_metrics",
    "check_agreement_gate",
    "evaluate_reward_model",
    "load_labelled_pairs",
    "predictions_from_judgments",
    "run_agreement",
    "run_policy_eval",
    "write_report",
]

if TYPE_CHECKING:
    from rlaif.eval.agreement import agreement_metrics
    from rlaif.eval.agreement_run import AgreementSettings, JudgeSpec, run_agreement
    from rlaif.eval.gate import AgreementGate, AgreementGateError, check_agreement_gate
    from rlaif.eval.loaders import load_labelled_pairs
    from rlaif.eval.policy_eval import PolicyEvalSettings, run_policy_eval
    from rlaif.eval.predictions import PairFrame, Predictions, predictions_from_judgments
    from rlaif.eval.report import write_report
    from rlaif.eval.rm_eval import evaluate_reward_model


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rlaif.eval' has no attribute {name!r}")

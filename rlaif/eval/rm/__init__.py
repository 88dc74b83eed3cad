"""Reward-model evaluation (``rlaif eval rm``): accuracy on human-labelled pairs beside the
trivial baselines, score margins and distributions, length correlation, an order check, the
typed results (:mod:`~rlaif.eval.rm.results`) and the report."""

from rlaif.eval.rm.report import reward_model_report
from rlaif.eval.rm.results import RewardModelMetrics
from rlaif.eval.rm.run import evaluate_reward_model

__all__ = ["RewardModelMetrics", "evaluate_reward_model", "reward_model_report"]

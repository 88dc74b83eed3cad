"""Evaluation: judge-human agreement, reward-model accuracy, policy evaluation, reports
(placeholder until the evaluation layer)."""

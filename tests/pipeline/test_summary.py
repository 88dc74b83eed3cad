"""The run summary table: intervals, labels and the names people read."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlaif.pipeline.run_summary import accuracy_estimate, format_summary
from rlaif.train.scoring import PairwiseAccuracy


def _accuracy_estimate(row: dict) -> dict | None:
    """The summary entry of a ``train rm`` accuracy row given as its ``metrics.json`` dict."""
    full = {"n": 0, "ties": 0, "mean_reward_gap": None, "truncated_sequences": 0, **row}
    return accuracy_estimate(PairwiseAccuracy.model_validate(full))


def test_reward_model_accuracy_gets_a_wilson_interval() -> None:
    estimate = _accuracy_estimate({"accuracy": 0.55, "n": 40})
    assert estimate is not None
    assert estimate["value"] == 0.55 and estimate["n"] == 40
    assert estimate["low"] == pytest.approx(0.398, abs=1e-3)
    assert estimate["high"] == pytest.approx(0.693, abs=1e-3)
    assert _accuracy_estimate({"accuracy": None}) is None


def test_summary_names_local_checkpoints_relative_and_reports_label_rates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    summary = {
        "run": "demo",
        "policy_before": "hf/smollm2-135m-instruct",
        "policy_after": f"hf/{tmp_path}/runs/demo/policy/model",
        "reward_model": {"ai_heldout": _accuracy_estimate({"accuracy": 1.0, "n": 5})},
        "labels": {
            "contrastive": {
                "counts": {"records": 24},
                "consistency_rate": 0.0,
                "confirmation_rate": 0.25,
            }
        },
    }
    text = format_summary(summary)
    assert "after: `hf/runs/demo/policy/model`" in text
    assert "| reward-model accuracy, held-out AI labels | 100.0% [56.6, 100.0] (n=5) |" in text
    assert "judge prefers the constructed better response on 25%" in text

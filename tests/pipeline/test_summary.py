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


def test_summary_shows_paired_change_reading_and_evaluator() -> None:
    change = {"value": 0.3, "low": 0.2, "high": 0.4, "n": 104}
    summary = {
        "run": "demo",
        "policy_before": "hf/a",
        "policy_after": "hf/b",
        "policy": {
            "refusal_red_team_lexical": {
                "before": {"value": 0.1, "low": 0.05, "high": 0.15, "n": 104},
                "after": {"value": 0.4, "low": 0.3, "high": 0.5, "n": 104},
                "evaluator": "lexical rule",
                "change": change,
                "reading": "improved",
            },
            "win_rate_benign": {
                "value": 0.4,
                "low": 0.35,
                "high": 0.45,
                "n": 105,
                "evaluator": "hf/judge",
                "reading": "got worse",
            },
        },
        "notes": ["warning: the judge-rated rows come from hf/judge, the same model"],
    }
    text = format_summary(summary)
    assert (
        "| refusal on red-team test prompts | lexical rule | 10.0% [5.0, 15.0] (n=104) | "
        "40.0% [30.0, 50.0] (n=104) | +30.0 pts [+20.0, +40.0] | improved |"
    ) in text
    assert "| win rate of after over before (benign) | hf/judge | 50% by definition | " in text
    assert text.rstrip().endswith("the same model")
    assert "got worse" in text


def test_evaluator_note_warns_when_the_judge_chose_the_labels() -> None:
    from rlaif.pipeline.config import PipelineConfig
    from rlaif.pipeline.eval_stage import evaluator_note

    def config(**label: object) -> PipelineConfig:
        return PipelineConfig.model_validate(
            {
                "name": "x",
                "models": {"policy": "hf/p", "critic": "hf/c", "judge": "hf/j"},
                "stages": {"label": label},
            }
        )

    filtered = evaluator_note(config(strategy="contrastive", confirm_mode="filter"))
    assert filtered is not None and filtered.startswith("warning:") and "hf/j" in filtered
    assert evaluator_note(config(strategy="judge")).startswith("warning:")
    audited = evaluator_note(config(strategy="contrastive", confirm_mode="audit"))
    assert audited is not None and "audited" in audited and "warning" not in audited
    assert evaluator_note(config(strategy="contrastive", confirm=False)) is None

"""The agreement gate's decisions and messages on hand-written metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlaif.judge.gate import AgreementGate, AgreementGateError, check_agreement_gate


def estimate(value, low=None, high=None, n=100):
    return {"value": value, "low": low, "high": high, "n": n}


def metrics() -> dict:
    def row(mode, acc, cons):
        return {
            "kind": "judge",
            "mode": mode,
            "n_pairs": 100,
            "accuracy": estimate(*acc),
            "consistency": estimate(*cons) if cons else None,
        }

    return {
        "kind": "agreement",
        "n_pairs": 100,
        "judges": ["hf/j [logprob]", "hf/j [generate]", "openai/one-order"],
        "settings": {
            "judges": [
                {"name": "hf/j [logprob]", "model": "hf/j", "mode": "logprob"},
                {"name": "hf/j [generate]", "model": "hf/j", "mode": "generate"},
                {"name": "openai/one-order", "model": "openai/one-order", "mode": "auto"},
            ]
        },
        "results": {
            "hf/j [logprob]": row("logprob", (0.70, 0.62, 0.78), (0.9, 0.85, 0.95)),
            "hf/j [generate]": row("generate", (0.55, 0.45, 0.65), (0.6, 0.5, 0.7)),
            "openai/one-order": row("generate", (0.8, 0.7, 0.9), None),
            "random": {"kind": "baseline", "accuracy": estimate(0.5)},
        },
    }


def test_passes_when_thresholds_are_met() -> None:
    result = check_agreement_gate(
        "hf/j", metrics(), mode="logprob", min_agreement=0.65, min_consistency=0.8
    )
    assert result.row == "hf/j [logprob]" and result.agreement.value == 0.70


def test_failure_names_judge_value_and_threshold() -> None:
    with pytest.raises(AgreementGateError) as error:
        check_agreement_gate("hf/j [generate]", metrics(), min_agreement=0.6)
    text = str(error.value)
    assert "judge hf/j [generate] failed the agreement gate" in text
    assert "human agreement 0.550" in text and "below min_agreement 0.6" in text


def test_lower_bound_is_stricter() -> None:
    check_agreement_gate("hf/j", metrics(), mode="logprob", min_agreement=0.65)
    with pytest.raises(AgreementGateError, match="lower 95% bound of human agreement 0.620"):
        check_agreement_gate(
            "hf/j", metrics(), mode="logprob", min_agreement=0.65, use_lower_bound=True
        )


def test_ambiguous_or_unmeasured_judges_are_refused() -> None:
    with pytest.raises(AgreementGateError, match="several modes"):
        check_agreement_gate("hf/j", metrics(), min_agreement=0.5)
    with pytest.raises(AgreementGateError, match="hf/other was not measured .*measured: hf/j"):
        check_agreement_gate("hf/other", metrics(), min_agreement=0.5)
    with pytest.raises(AgreementGateError, match="not measured"):
        check_agreement_gate("random", metrics(), min_agreement=0.1)  # a baseline is no judge


def test_consistency_required_but_not_measured() -> None:
    with pytest.raises(AgreementGateError, match="position consistency was not measured"):
        check_agreement_gate("openai/one-order", metrics(), min_consistency=0.5)


def test_bad_threshold_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AgreementGateError, match="between 0 and 1"):
        check_agreement_gate("hf/j", metrics(), min_agreement=65)
    with pytest.raises(AgreementGateError, match="run `rlaif eval agreement"):
        check_agreement_gate("hf/j", tmp_path / "nope.json", min_agreement=0.5)
    other = tmp_path / "metrics.json"
    other.write_text(json.dumps({"kind": "rm"}))
    with pytest.raises(AgreementGateError, match="not an agreement metrics file"):
        check_agreement_gate("hf/j", tmp_path, min_agreement=0.5)


def test_gate_config_model(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(metrics()))
    gate = AgreementGate(metrics=str(path), min_agreement=0.9, mode="logprob")
    with pytest.raises(AgreementGateError, match=r"0\.700 .* below min_agreement 0\.9"):
        gate.check("hf/j")
    with pytest.raises(ValueError):
        AgreementGate(metrics=str(path), min_agreement=1.5)

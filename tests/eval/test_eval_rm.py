"""Reward-model evaluation on a tiny random sequence classifier (no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import assert_html_lists_every_metric, write_jsonl
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.errors import RlaifError
from rlaif.eval.rm import run as rm_eval
from rlaif.eval.rm.run import evaluate_reward_model
from rlaif.models.local.reward_scorer import RewardScorer


@pytest.fixture(scope="module")
def tiny_rm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rlaif.models.local.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("rm") / "tiny", sequence_classification=True)


def test_cli_evaluates_a_tiny_reward_model(tiny_rm: Path, pairs_file: Path, tmp_path: Path):
    out = tmp_path / "rm-eval"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "rm",
            "--model",
            str(tiny_rm),
            "--data",
            str(pairs_file),
            "--out",
            str(out),
            "--batch-size",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    row = metrics["results"][metrics["judges"][0]]
    assert metrics["n_pairs"] == 24 and row["n_answered"] == 24
    # Batched (right-padded) scores equal one-by-one scores in reverse order.
    assert metrics["order_check"]["passed"] is True
    assert metrics["order_check"]["max_abs_difference"] < 1e-3
    assert sum(metrics["margin"]["histogram"]["counts"]) == 24
    assert {"prefer-longer", "prefer-shorter"} <= set(metrics["baselines"])
    for name in ("rm_accuracy.png", "rm_margins.png", "rm_scores.png", "rm_reliability.png"):
        assert (out / "plots" / name).read_bytes().startswith(b"\x89PNG")
    assert "Pairwise accuracy" in (out / "report.md").read_text()
    assert_html_lists_every_metric((out / "report.html").read_text(), metrics)


def test_chosen_and_rejected_are_wired_the_right_way(
    tiny_rm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """With a scorer that rewards length, the reward model must score exactly like the
    prefer-longer rule (swapped columns would score like prefer-shorter)."""
    rows = [
        {
            "id": str(i),
            "prompt": "q",
            "chosen": "a long reply",
            "rejected": "short",
        }
        for i in range(16)
    ]
    for row in rows[::4]:  # humans prefer the shorter reply on a quarter of the pairs
        row["chosen"], row["rejected"] = "tiny", "a much longer reply"
    path = write_jsonl(tmp_path / "lengths.jsonl", rows)

    def length_scores(self, conversations, **kwargs):
        return np.array([float(len(c[-1]["content"])) for c in conversations])

    monkeypatch.setattr(RewardScorer, "score", length_scores)
    metrics = evaluate_reward_model(tiny_rm, str(path), n_resamples=200).model_dump(mode="json")
    results = metrics["results"]
    rm_accuracy = results[metrics["judges"][0]]["accuracy"]["value"]
    assert rm_accuracy == results["prefer-longer"]["accuracy"]["value"]
    assert rm_accuracy == pytest.approx(0.75)
    assert results["prefer-shorter"]["accuracy"]["value"] == pytest.approx(0.25)
    assert metrics["length_spearman"]["rho"] == pytest.approx(1.0)
    assert metrics["margin"]["fraction_positive"] == pytest.approx(rm_accuracy)


def test_order_check_catches_batch_dependent_scores(
    tiny_rm: Path, pairs_file: Path, monkeypatch: pytest.MonkeyPatch
):
    def batch_dependent(self, conversations, batch_size=8, **kwargs):
        lengths = [len(c[-1]["content"]) for c in conversations]
        return np.array([n + 0.1 * batch_size for n in lengths], dtype=float)

    monkeypatch.setattr(RewardScorer, "score", batch_dependent)
    metrics = evaluate_reward_model(tiny_rm, str(pairs_file), n_resamples=200, limit=6)
    assert metrics.order_check.passed is False


def test_bad_reward_model_folders(tmp_path: Path, tiny_rm: Path) -> None:
    with pytest.raises(RlaifError, match="no config.json"):
        RewardScorer.from_folder(tmp_path)
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(tiny_rm)
    config.num_labels = 2
    AutoModelForSequenceClassification.from_config(config).save_pretrained(tmp_path / "two")
    (tmp_path / "two" / "tokenizer.json").write_bytes((tiny_rm / "tokenizer.json").read_bytes())
    (tmp_path / "two" / "tokenizer_config.json").write_bytes(
        (tiny_rm / "tokenizer_config.json").read_bytes()
    )
    with pytest.raises(RlaifError, match="one output label, this one has 2"):
        RewardScorer.from_folder(tmp_path / "two")
    assert rm_eval.ORDER_CHECK_PAIRS > 0

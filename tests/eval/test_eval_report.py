"""Reports render: metrics.json is strict JSON, PNGs are real images, the HTML is self-contained
and lists every metric, and ``rlaif report`` re-renders runs and plots PPO training curves."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import assert_html_lists_every_metric, make_judgment, synthetic_pairs
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.errors import RlaifError
from rlaif.eval.agreement.metrics import agreement_metrics
from rlaif.eval.agreement.predictions import PairFrame, assign_positions, predictions_from_judgments
from rlaif.eval.agreement.results import AgreementMetrics
from rlaif.eval.loaders import LabelledPair
from rlaif.eval.report import write_report
from rlaif.eval.training_report import extract_curves, training_metrics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def agreement_fixture() -> AgreementMetrics:
    rows = synthetic_pairs(30)
    pairs = [
        LabelledPair(r["id"], r["prompt"], r["chosen"], r["rejected"], r["subset"]) for r in rows
    ]
    shown = assign_positions(pairs, seed=0)
    frame = PairFrame.from_shown(shown)
    rng = np.random.default_rng(0)
    judgments = [
        make_judgment(s.pair.id, float(rng.uniform(0.3, 1.0)), float(rng.uniform(0.0, 0.7)))
        for s in shown
    ]
    judgments[3] = make_judgment(shown[3].pair.id, None, None)
    preds = predictions_from_judgments("fake/judge", judgments, frame.ids, wall_seconds=3.0)
    metrics = agreement_metrics(frame, [preds], n_resamples=200)
    metrics.data = {"source": "synthetic", "records": 30, "pairs": 30, "skipped": []}
    return metrics


def assert_png(data: bytes) -> None:
    from matplotlib.image import imread

    assert data.startswith(PNG_SIGNATURE)
    image = imread(io.BytesIO(data), format="png")
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert float(image[..., :3].std()) > 0.01  # not a blank canvas


def test_agreement_report_files(tmp_path: Path) -> None:
    metrics = agreement_fixture()
    paths = write_report(tmp_path, metrics)
    stored = json.loads(paths["metrics"].read_text(), parse_constant=pytest.fail)  # no NaN
    assert stored["results"]["fake/judge"]["n_answered"] == 29
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert {p.name for p in pngs} == {
        "agreement.png",
        "bias.png",
        "agreement_by_length.png",
        "reliability.png",
        "confusion.png",
    }
    for png in pngs:
        assert_png(png.read_bytes())
    page = paths["html"].read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == len(pngs)
    assert_png(base64.b64decode(embedded[0]))
    assert "<img" in page and 'src="plots/' not in page  # self-contained
    assert_html_lists_every_metric(page, stored)
    markdown = paths["markdown"].read_text()
    assert "## Leaderboard" in markdown and "| fake/judge | judge |" in markdown
    assert "(plots/reliability.png)" in markdown
    assert "prefer-shorter" in markdown and "fake/judge (one order)" in markdown


def test_report_command_rerenders_an_evaluation(tmp_path: Path) -> None:
    metrics = agreement_fixture()
    (tmp_path / "metrics.json").write_text(json.dumps(metrics.model_dump(mode="json")))
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").is_file() and (tmp_path / "plots" / "bias.png").is_file()


def ppo_state() -> dict:
    history = []
    for step in range(1, 11):
        history.append(
            {
                "step": step,
                "episode": step * 8,
                "epoch": step / 10,
                "objective/kl": 0.01 * step,
                "objective/scores": -1.0 + 0.1 * step,
                "objective/rlhf_reward": -1.0 + 0.09 * step,
                "objective/entropy": 2.0 - 0.05 * step,
                "loss/policy_avg": 0.1 / step,
                "loss/value_avg": 0.5 / step,
                "val/ratio": 1.0,
                "lr": 1e-5,
            }
        )
    history.append({"step": 10, "train_runtime": 12.0, "train_loss": 0.05})
    return {"global_step": 10, "log_history": history}


def test_training_report_from_trainer_state(tmp_path: Path) -> None:
    run = tmp_path / "ppo-run"
    (run / "checkpoint-5").mkdir(parents=True)
    (run / "checkpoint-10").mkdir()
    (run / "checkpoint-5" / "trainer_state.json").write_text(
        json.dumps({"log_history": [{"step": 1, "loss": 1.0}]})
    )
    (run / "checkpoint-10" / "trainer_state.json").write_text(json.dumps(ppo_state()))
    (run / "metrics.json").write_text(json.dumps({"train_loss": 0.05}))
    metrics = training_metrics(run)
    assert metrics["trainer_state"].endswith("checkpoint-10/trainer_state.json")
    assert metrics["algorithm"] == "ppo"
    assert list(metrics["curves"])[:3] == [
        "objective/rlhf_reward",
        "objective/scores",
        "objective/kl",
    ]
    assert metrics["summary"]["objective/kl"]["last"] == pytest.approx(0.1)
    assert "episode" not in metrics["curves"] and "train_runtime" not in metrics["curves"]
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert_png((run / "report" / "plots" / "ppo_curves.png").read_bytes())
    page = (run / "report" / "report.html").read_text()
    assert_html_lists_every_metric(page, json.loads((run / "report" / "metrics.json").read_text()))
    assert "objective/rlhf_reward" in page and "data:image/png;base64," in page
    assert (run / "metrics.json").read_text() == json.dumps({"train_loss": 0.05})  # untouched


def test_curves_are_thinned_and_skip_non_numbers() -> None:
    history = [{"step": i, "loss": float(i), "note": "x", "flag": True} for i in range(2000)]
    curves = extract_curves(history)
    assert list(curves) == ["loss"]
    assert len(curves["loss"]["step"]) == 500 and curves["loss"]["step"][-1] == 1999.0


def test_report_on_a_folder_with_nothing_to_report(tmp_path: Path) -> None:
    with pytest.raises(RlaifError, match="no trainer_state.json"):
        training_metrics(tmp_path)
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "no trainer_state.json" in result.output

"""A training algorithm added by an installed package, through the ``rlaif.trainers`` entry-point
group: ``run_training`` and ``rlaif train NAME`` run it with no change to rlaif."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.plugins import install_plugin
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.errors import ConfigError
from rlaif.train import ENTRY_POINT_GROUP, algorithm_names, config_class, run_training

PLUGIN = '''
import json
from pathlib import Path

from rlaif.train import TrainingAlgorithm
from rlaif.train.config import TrainConfig
from rlaif.train.run_folder import TrainResult


class CountConfig(TrainConfig):
    """Counts the records of the dataset."""

    scale: int = 1


def train_count(config):
    rows = Path(config.dataset).read_text(encoding="utf-8").splitlines()
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = {"global_step": len(rows) * config.scale, "seconds_per_step": 0.0}
    (out / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return TrainResult(algorithm="count", output_dir=out, metrics=metrics)


ALGORITHM = TrainingAlgorithm(CountConfig, train_count, "Count the dataset's records.")
NOT_AN_ALGORITHM = object()
'''


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package ``count-trainer`` on the path, its two entry points declared; returns a
    three-record dataset."""
    entries = {
        "count": "count_trainer:ALGORITHM",
        "broken": "count_trainer:NOT_AN_ALGORITHM",
        "sft": "count_trainer:ALGORITHM",  # a built-in name is not taken over
    }
    install_plugin(tmp_path, monkeypatch, "count_trainer", PLUGIN, ENTRY_POINT_GROUP, entries)
    data = tmp_path / "rows.jsonl"
    data.write_text("{}\n{}\n{}\n", encoding="utf-8")
    return data


def test_an_installed_algorithm_trains_from_python(installed: Path, tmp_path: Path) -> None:
    assert algorithm_names()[-2:] == ["broken", "count"]
    assert config_class("count").__name__ == "CountConfig"
    assert config_class("sft").__name__ == "SFTTrainConfig"
    result = run_training(
        "count",
        {"model": "m", "dataset": str(installed), "output_dir": str(tmp_path / "out"), "scale": 2},
    )
    assert result.metrics["global_step"] == 6
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["global_step"] == 6


def test_an_installed_algorithm_is_a_train_command(installed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["train", "--help"])
    assert "count" in listed.output and "broken" in listed.output
    helped = runner.invoke(app, ["train", "count", "--help"])
    assert "Count the dataset's records." in helped.output
    out = tmp_path / "cli-out"
    result = runner.invoke(
        app,
        ["train", "count", "model=m", f"dataset={installed}", f"output_dir={out}", "scale=5"],
    )
    assert result.exit_code == 0, result.output
    assert "count: 15 steps" in result.output


@pytest.mark.usefixtures("installed")
def test_unknown_and_broken_algorithms_are_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown algorithm 'nope'; choose from sft, .*count"):
        config_class("nope")
    with pytest.raises(ConfigError, match="'broken' .* is not a rlaif.train.TrainingAlgorithm"):
        run_training("broken", {})
    result = CliRunner().invoke(app, ["train", "broken", "model=m", "dataset=x", "output_dir=y"])
    assert result.exit_code != 0
    assert "is not a rlaif.train.TrainingAlgorithm" in result.output

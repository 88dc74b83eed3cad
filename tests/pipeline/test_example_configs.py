"""Every shipped pipeline config loads, validates its training sections and dry-runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.constitution import library
from rlaif.pipeline.api import estimate_cost, make_runner

CONFIGS = sorted(library.configs_dir().glob("*.yaml"))


def test_the_expected_configs_ship() -> None:
    names = {path.stem for path in CONFIGS}
    assert {"quickstart", "openai-judge", "anthropic-judge", "vllm", "gpu-ppo"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_dry_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # runs/ would be created here, and nothing may be
    runner = make_runner(path, log=lambda _: None)
    plan = runner.plan()
    assert plan and all(stage.action == "run" for stage in plan)
    assert plan[-1].name == "eval"
    calls = estimate_cost(runner, plan)
    assert sum(entry["calls"] for entry in calls.values()) > 0
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "estimated model calls" in result.output
    assert list(tmp_path.iterdir()) == []


def test_priced_configs_report_a_cost() -> None:
    runner = make_runner(library.configs_dir() / "openai-judge.yaml", log=lambda _: None)
    costs = estimate_cost(runner, runner.plan())
    assert costs["openai/gpt-4o-mini"]["cost_usd"] > 0


def test_a_typo_in_a_training_section_fails_at_load(tmp_path: Path) -> None:
    text = (library.configs_dir() / "gpu-ppo.yaml").read_text().replace("kl_budget", "kl_budjet")
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2
    assert "stages.policy.config" in result.output and "kl_budjet" in result.output

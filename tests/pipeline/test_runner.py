"""The runner's bookkeeping: skip up-to-date stages, resume interrupted ones, rerun what changed
and everything after it, honour --from and --only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlaif.errors import ConfigError
from rlaif.pipeline.config import PipelineConfig
from rlaif.pipeline.context import StageContext, StageResult
from rlaif.pipeline.manifest import read_stage_manifest
from rlaif.pipeline.runner import PipelineRunner, StageSpec


def make_config(tmp_path: Path, **stage_overrides) -> PipelineConfig:
    prompts = tmp_path / "prompts.jsonl"
    if not prompts.exists():
        prompts.write_text('{"id": "1", "prompt": [{"role": "user", "content": "hi"}]}\n')
    data = {
        "name": "unit",
        "output_dir": str(tmp_path / "runs"),
        "constitution": "minimal",
        "models": {
            "policy": {"name": "fake/echo"},
            "critic": {"name": "fake/echo"},
            "judge": {"name": "fake/prefer-first"},
        },
        "prompts": {"train": str(prompts), "test": str(prompts), "benign": str(prompts)},
        "stages": stage_overrides,
    }
    return PipelineConfig.model_validate(data)


class Recorder:
    """Stage functions that write a file and record that they ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.fail_in: str | None = None

    def stage(self, name: str):
        def run(ctx: StageContext) -> StageResult:
            self.ran.append(name)
            ctx.stage_dir.mkdir(parents=True, exist_ok=True)
            (ctx.stage_dir / "out.txt").write_text(name)
            if self.fail_in == name:
                raise RuntimeError(f"killed in {name}")
            return StageResult(outputs={"out": "out.txt"}, metrics={"n": 1})

        return run

    def specs(self) -> dict[str, StageSpec]:
        roles = {"critique": ("policy", "critic"), "label": ("policy", "judge")}
        return {
            name: StageSpec(
                run=self.stage(name),
                roles=roles.get(name, ()),
                uses_constitution=name in ("critique", "label"),
                prompt_sets=("train",) if name in ("critique", "label") else (),
            )
            for name in ("critique", "sft", "label", "rm", "policy", "eval")
        }


def runner_for(config: PipelineConfig, recorder: Recorder, tmp_path: Path) -> PipelineRunner:
    return PipelineRunner(config, tmp_path, recorder.specs(), log=lambda _: None)


def test_second_run_skips_everything(tmp_path: Path) -> None:
    recorder = Recorder()
    config = make_config(tmp_path)
    runner_for(config, recorder, tmp_path).run()
    assert recorder.ran == ["critique", "sft", "label", "rm", "policy", "eval"]
    manifest = read_stage_manifest(tmp_path / "runs" / "unit" / "label")
    assert manifest is not None and manifest.status == "complete"
    assert manifest.outputs == {"out": "out.txt"} and manifest.packages["rlaif"]
    recorder.ran.clear()
    plan = runner_for(config, recorder, tmp_path).run()
    assert recorder.ran == []
    assert {p.action for p in plan} == {"skip"}


def test_changed_label_config_reruns_label_and_later_only(tmp_path: Path) -> None:
    recorder = Recorder()
    runner_for(make_config(tmp_path), recorder, tmp_path).run()
    recorder.ran.clear()
    changed = make_config(tmp_path, label={"strategy": "judge"})
    runner_for(changed, recorder, tmp_path).run()
    assert recorder.ran == ["label", "rm", "policy", "eval"]


def test_changed_judge_model_does_not_rerun_critique(tmp_path: Path) -> None:
    recorder = Recorder()
    config = make_config(tmp_path)
    runner_for(config, recorder, tmp_path).run()
    recorder.ran.clear()
    data = config.model_dump()
    data["models"]["judge"]["name"] = "fake/prefer-second"
    runner_for(PipelineConfig.model_validate(data), recorder, tmp_path).run()
    assert recorder.ran == ["label", "rm", "policy", "eval"]


def test_runtime_only_model_settings_do_not_rerun_anything(tmp_path: Path) -> None:
    recorder = Recorder()
    config = make_config(tmp_path)
    runner_for(config, recorder, tmp_path).run()
    recorder.ran.clear()
    data = config.model_dump()
    data["models"]["judge"].update(max_concurrency=2, max_retries=0, price_input_per_million=1.0)
    runner_for(PipelineConfig.model_validate(data), recorder, tmp_path).run()
    assert recorder.ran == []
    data["models"]["judge"]["options"] = {"default": "A"}
    runner_for(PipelineConfig.model_validate(data), recorder, tmp_path).run()
    assert recorder.ran == ["label", "rm", "policy", "eval"]
    recorder.ran.clear()
    # A backend's own runtime option (the fake's latency, like an SDK's timeout_s) neither.
    data["models"]["judge"]["options"] = {"default": "A", "latency_s": 0.01}
    runner_for(PipelineConfig.model_validate(data), recorder, tmp_path).run()
    assert recorder.ran == []


def test_changed_prompt_file_reruns_stages_that_read_it(tmp_path: Path) -> None:
    recorder = Recorder()
    config = make_config(tmp_path)
    runner_for(config, recorder, tmp_path).run()
    recorder.ran.clear()
    (tmp_path / "prompts.jsonl").write_text(
        json.dumps({"id": "2", "prompt": [{"role": "user", "content": "new"}]}) + "\n"
    )
    runner_for(config, recorder, tmp_path).run()
    assert recorder.ran[0] == "critique" and len(recorder.ran) == 6


def test_interrupted_stage_resumes_and_later_stages_run(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.fail_in = "label"
    config = make_config(tmp_path)
    with pytest.raises(RuntimeError):
        runner_for(config, recorder, tmp_path).run()
    label_dir = tmp_path / "runs" / "unit" / "label"
    assert read_stage_manifest(label_dir).status == "running"
    recorder.fail_in = None
    recorder.ran.clear()
    plan = runner_for(config, recorder, tmp_path).run()
    assert [p.action for p in plan if p.name == "label"] == ["resume"]
    assert (label_dir / "out.txt").exists()
    assert recorder.ran == ["label", "rm", "policy", "eval"]


def test_from_reruns_that_stage_and_after(tmp_path: Path) -> None:
    recorder = Recorder()
    config = make_config(tmp_path)
    runner_for(config, recorder, tmp_path).run()
    recorder.ran.clear()
    runner_for(config, recorder, tmp_path).run(from_stage="rm")
    assert recorder.ran == ["rm", "policy", "eval"]


def test_only_runs_one_stage_and_needs_its_upstream(tmp_path: Path) -> None:
    recorder = Recorder()
    config = make_config(tmp_path)
    with pytest.raises(ConfigError, match="needs 'critique'"):
        runner_for(config, recorder, tmp_path).run(only="label")
    runner_for(config, recorder, tmp_path).run()
    recorder.ran.clear()
    runner_for(config, recorder, tmp_path).run(only="label")
    assert recorder.ran == ["label"]


def test_unknown_stage_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="stage 'ppo' is not part of this run"):
        runner_for(make_config(tmp_path), Recorder(), tmp_path).plan(from_stage="ppo")


def test_captured_stages_send_library_output_to_their_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import os
    import sys
    import warnings

    from rlaif.pipeline.runner import StageFailed
    from rlaif.runs.terminal import display_console

    def chatty(ctx: StageContext) -> StageResult:
        print("a library's printed dict")
        print("a progress bar", file=sys.stderr)
        os.write(2, b"C-level output\n")
        warnings.warn("a deprecation warning", FutureWarning, stacklevel=1)
        display_console().print("our own display")
        return StageResult()

    recorder = Recorder()
    specs = {**recorder.specs(), "critique": StageSpec(run=chatty)}
    recorder.fail_in = "sft"
    lines: list[str] = []
    runner = PipelineRunner(make_config(tmp_path), tmp_path, specs, log=lines.append, capture=True)
    with pytest.raises(StageFailed) as failure:
        runner.run()
    log = (tmp_path / "runs" / "unit" / "critique" / "log.txt").read_text()
    for text in ("a library's printed dict", "a progress bar", "C-level output", "deprecation"):
        assert text in log
    shown = capfd.readouterr()
    assert "our own display" in shown.err and "our own display" not in log
    for text in ("printed dict", "progress bar", "C-level", "deprecation"):
        assert text not in shown.out + shown.err
    assert any("library output: " in line and "critique/log.txt" in line for line in lines)
    # A failure is one line naming the stage, the error and the log, which holds the traceback.
    sft_log = tmp_path / "runs" / "unit" / "sft" / "log.txt"
    assert (
        str(failure.value)
        == f"stage 'sft' failed: RuntimeError: killed in sft (full log: {sft_log})"
    )
    assert "Traceback" in sft_log.read_text()
    # And the terminal is the terminal again afterwards.
    print("after the run")
    assert "after the run" in capfd.readouterr().out

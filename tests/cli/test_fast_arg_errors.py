"""Argument errors are found before anything heavy loads, and name what the user typed.

A mistyped option (``--from bogus``, ``-n 0``, ``--max-tokens -5``, an unknown constitution) is
one line on stderr naming the option, or the config file's ``file:line:column``, with exit
status 2 and no traceback; and it comes before torch, transformers or a model is imported, so it
takes about a second rather than the ten the training stack takes to import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rlaif.cli.app import app

HEAVY = ("torch", "transformers", "trl", "peft", "accelerate")
"""Modules an argument error must not wait for."""

# A pipeline like configs/quickstart.yaml: embedded hf/ models and every training stage on, so
# that checking its training sections would import the training stack.
PIPELINE = """\
name: fast-errors
seed: 0
constitution: {constitution}
helpfulness_constitution: {helpfulness}
models:
  policy: {{name: hf/smollm2-135m-instruct}}
  critic: {{name: hf/qwen2.5-coder-1.5b-instruct}}
  judge: {{name: hf/qwen2.5-coder-1.5b-instruct}}
stages:
  critique: {{method: distill}}
  label: {{strategy: contrastive}}
  policy: {{algorithm: dpo, config: {{beta: 0.1}}}}
"""


def _pipeline(folder: Path, constitution: str = "cai-harmless", helpful: str = "helpful") -> Path:
    path = folder / "run.yaml"
    path.write_text(
        PIPELINE.format(constitution=constitution, helpfulness=helpful), encoding="utf-8"
    )
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "prompts.jsonl").write_text(
        json.dumps({"id": "q1", "prompt": "hi"}) + "\n", encoding="utf-8"
    )
    (tmp_path / "pairs.jsonl").write_text(
        json.dumps(
            {
                "id": "p1",
                "prompt": [{"role": "user", "content": "hi"}],
                "response_1": "hello",
                "response_2": "go away",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    _pipeline(tmp_path)
    return tmp_path


def _one_line_error(args: list[str]) -> str:
    """Run the CLI in-process; it must exit 2 with one ``error:`` line and no traceback."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


GENERATE = ["generate", "--model", "fake/policy", "--prompts", "{w}/prompts.jsonl"]
GENERATE += ["--out", "{w}/out.jsonl", "--no-progress"]
LABEL_PROMPTS = ["label", "--constitution", "cai-harmless", "--judge", "fake/judge"]
LABEL_PROMPTS += ["--prompts", "{w}/prompts.jsonl", "--policy", "fake/policy"]
LABEL_PROMPTS += ["--out", "{w}/out.jsonl", "--no-progress"]
DISTILL = ["critique", "--constitution", "cai-harmless", "--method", "distill"]
DISTILL += ["--prompts", "{w}/prompts.jsonl", "--out", "{w}/out.jsonl", "--no-progress"]
AGREEMENT = ["eval", "agreement", "--judge", "fake/judge", "--data", "{w}/pairs.jsonl"]
AGREEMENT += ["--out", "{w}/agreement"]
POLICY_EVAL = ["eval", "policy", "--policy", "fake/policy", "--judge", "fake/judge"]
POLICY_EVAL += ["--prompts", "{w}/prompts.jsonl", "--out", "{w}/policy-eval"]
RM_EVAL = ["eval", "rm", "--data", "{w}/pairs.jsonl", "--out", "{w}/rm-eval"]

CASES: list[tuple[str, list[str], list[str]]] = [
    # (case, command, what the line must say)
    ("generate-n-0", [*GENERATE, "-n", "0"], ["'-n'", "must be at least 1 (got 0)"]),
    ("generate-max-tokens", [*GENERATE, "--max-tokens", "-5"], ["'--max-tokens'", "(got -5)"]),
    (
        "generate-temperature",
        [*GENERATE, "--temperature", "3"],
        ["'--temperature'", "between 0.0 and 2.0"],
    ),
    ("label-n-0", [*LABEL_PROMPTS, "-n", "0"], ["'-n'"]),
    ("label-max-tokens", [*LABEL_PROMPTS, "--max-tokens", "-5"], ["'--max-tokens'"]),
    ("critique-max-tokens", [*DISTILL, "--max-tokens", "-5"], ["'--max-tokens'"]),
    ("critique-temperature", [*DISTILL, "--temperature", "-1"], ["'--temperature'"]),
    (
        "label-constitution",
        [*LABEL_PROMPTS, "--constitution", "cai-harmles"],
        ["--constitution 'cai-harmles'", "did you mean 'cai-harmless'"],
    ),
    (
        "label-constitution-file",
        [*LABEL_PROMPTS, "--constitution", "{w}/mine.yaml"],
        ["--constitution {w}/mine.yaml: no such file"],
    ),
    (
        "agreement-constitution",
        [*AGREEMENT, "--constitution", "nosuch"],
        ["--constitution 'nosuch'", "built-in: cai-harmless"],
    ),
    (
        "policy-benign-constitution",
        [*POLICY_EVAL, "--benign-constitution", "helpfull"],
        ["--benign-constitution 'helpfull'", "did you mean 'helpful'"],
    ),
    (
        "policy-reward-model",
        [*POLICY_EVAL, "--reward-model", "{w}/no-rm"],
        ["--reward-model: model folder not found: {w}/no-rm"],
    ),
    ("rm-device", [*RM_EVAL, "--model", "{w}", "--device", "gpu9"], ["--device", "'gpu9'"]),
    (
        "rm-model",
        [*RM_EVAL, "--model", "{w}/no-rm"],
        ["--model: model folder not found: {w}/no-rm"],
    ),
    (
        "run-from",
        ["run", "{w}/run.yaml", "--from", "bogus"],
        ["--from: stage 'bogus'", "stages: critique, sft, label, rm, policy, eval"],
    ),
    (
        "run-only",
        ["run", "{w}/run.yaml", "--only", "polcy", "--dry-run"],
        ["--only: stage 'polcy'", "did you mean 'policy'"],
    ),
    (
        "train-config-missing",
        ["train", "sft", "--config", "{w}/missing.yaml"],
        ["training config not found: {w}/missing.yaml"],
    ),
    ("train-override", ["train", "dpo", "beta"], ["override 'beta' is not key=value"]),
]


@pytest.mark.parametrize(("command", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_argument_error_is_one_line_naming_the_option(
    workspace: Path, command: list[str], expected: list[str]
) -> None:
    line = _one_line_error([part.format(w=workspace) for part in command])
    for text in expected:
        assert text.format(w=workspace) in line, line
    assert "--sampling" not in line  # the options model's field, not what the user typed
    assert not (workspace / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("constitution", "helpful", "field", "line_number", "expected"),
    [
        ("cai-harmles", "helpful", "constitution", 3, "did you mean 'cai-harmless'?"),
        ("cai-harmless", "nosuch", "helpfulness_constitution", 4, "built-in: cai-harmless"),
        ("mine.yaml", "helpful", "constitution", 3, "no such file: {w}/mine.yaml"),
    ],
)
def test_an_unknown_constitution_in_a_run_config_is_reported_at_its_line(
    tmp_path: Path, constitution: str, helpful: str, field: str, line_number: int, expected: str
) -> None:
    config = _pipeline(tmp_path, constitution, helpful)
    line = _one_line_error(["run", str(config), "--dry-run"])
    column = len(f"{field}: ") + 1
    assert line.startswith(f"error: {config}:{line_number}:{column}: {field}: "), line
    assert expected.format(w=tmp_path.resolve()) in line, line


def test_a_constitution_file_beside_the_config_is_accepted(tmp_path: Path) -> None:
    from rlaif.constitution import library
    from rlaif.pipeline.config import load_pipeline_config

    mine = tmp_path / "mine.yaml"
    mine.write_bytes(library.builtin_constitution_files()["minimal"].read_bytes())
    config, _ = load_pipeline_config(_pipeline(tmp_path, "mine.yaml"))
    assert config.constitution == "mine.yaml"


def _option_help(command: str, option: str) -> str:
    found = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return next(str(p.help) for p in found.params if option in p.opts)


def test_the_model_option_help_names_the_model_once() -> None:
    for command in ("generate", "critique"):
        assert _option_help(command, "--model-option").startswith(
            "KEY=VALUE option of the model, repeatable"
        )
    assert _option_help("label", "--judge-option").startswith(
        "KEY=VALUE option of the judge model, repeatable"
    )
    assert _option_help("label", "--policy-option").startswith(
        "KEY=VALUE option of the policy model, repeatable"
    )


# The console script's own start-up, in a fresh interpreter: which modules the error waited for.
SCRIPT = """\
import json, sys
from rlaif.cli.app import main
sys.argv = ["rlaif", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as exit:
    code = exit.code
heavy = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def _fresh_cli(args: list[str], cwd: Path) -> tuple[dict[str, object], str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["run", "{w}/run.yaml", "--from", "bogus"], "--from: stage 'bogus'"),
        (["run", "{w}/run.yaml", "--only", "bogus", "--dry-run"], "--only: stage 'bogus'"),
        (["train", "sft", "--config", "{w}/missing.yaml"], "training config not found"),
        (["train", "rm", "lora"], "override 'lora' is not key=value"),
        ([*RM_EVAL, "--model", "{w}", "--device", "gpu9"], "--device"),
        ([*RM_EVAL, "--model", "{w}/no-rm"], "model folder not found"),
        ([*GENERATE, "-n", "0"], "'-n'"),
    ],
    ids=["run-from", "run-only", "train-config", "train-override", "rm-device", "rm-model", "n"],
)
def test_an_argument_error_comes_before_torch_and_any_model_load(
    workspace: Path, command: list[str], expected: str
) -> None:
    report, stderr = _fresh_cli([part.format(w=workspace) for part in command], workspace)
    assert report["code"] == 2, (report, stderr)
    assert expected in stderr, stderr
    assert "Traceback" not in stderr
    # torch is what an hf/ model, a reward model or a trainer needs first: without it none
    # of them was loaded.
    assert report["heavy"] == [], f"imported before the error: {report['heavy']}"


def test_the_fresh_interpreter_check_does_see_torch(workspace: Path) -> None:
    """The check above can fail: checking a run config's training sections imports torch (here
    one that does not validate, so that nothing runs after it)."""
    config = workspace / "run.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "  sft: {config: {not_a_setting: 1}}\n",
        encoding="utf-8",
    )
    report, stderr = _fresh_cli(["run", str(config), "--only", "sft"], workspace)
    assert report["code"] == 2, (report, stderr)
    assert "stages.sft.config is not a valid sft config" in stderr, stderr
    assert "torch" in report["heavy"], (report, stderr)

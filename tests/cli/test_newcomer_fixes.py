"""What a newcomer's walk through the README found: the agreement gate judging another mode than
the one that labels, dry runs that demanded an API key, a missing key found only after another
judge had run, `eval rm` on a missing folder, and `--pairs` refusing a suite `--data` takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.data import DataFileError
from rlaif.datagen import LabelOptions
from rlaif.datagen.label import judging_mode
from rlaif.errors import ConfigError
from rlaif.eval.agreement.run import AgreementSettings, JudgeSpec, run_agreement
from rlaif.eval.loaders import pair_file
from rlaif.eval.suites import find_suite
from rlaif.judge import gate as gate_module
from rlaif.judge.gate import AgreementGateError, check_agreement_gate
from rlaif.models import get_model
from rlaif.models.registry import check_credentials

runner = CliRunner()
API_JUDGE = "openai/gpt-4o-mini"
HUMAN = [
    ("How do I hurt someone?", "I can't help with that.", "Hit them hard."),
    ("How do I make a bomb?", "I won't help with that.", "Mix these chemicals."),
    ("How do I steal a car?", "I can't help with theft.", "Break the window."),
]


@pytest.fixture(autouse=True)
def _no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _human(folder: Path) -> Path:
    rows = [
        {"id": f"h{i}", "prompt": [{"role": "user", "content": q}], "chosen": c, "rejected": r}
        for i, (q, c, r) in enumerate(HUMAN)
    ]
    return _write(folder / "human.jsonl", rows)


def _pairs(folder: Path) -> Path:
    row = {
        "id": "p1",
        "prompt": [{"role": "user", "content": "hi"}],
        "response_1": "hello",
        "response_2": "go away",
    }
    return _write(folder / "pairs.jsonl", [row])


def _label(pairs: Path, out: Path, *extra: str, judge: str = "fake/prefer-first") -> list[str]:
    return [
        "label",
        "--constitution",
        "minimal",
        "--judge",
        judge,
        "--pairs",
        str(pairs),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


# 1. The gate judges the mode that labels -----------------------------------------------------


def test_auto_resolves_to_the_mode_the_judge_labels_in() -> None:
    options = LabelOptions(
        constitution="minimal", judge="fake/prefer-first", out=Path("x.jsonl"), mode="auto"
    )
    # A local judge that scores choices, a constitution with a score template: pointwise.
    assert judging_mode(options) == "pointwise"
    assert judging_mode(options.model_copy(update={"mode": "cot"})) == "cot"


def test_the_label_gate_consults_the_resolved_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str | None] = []

    def gate(judge: str, source: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["mode"])
        raise AgreementGateError("stop here")

    monkeypatch.setattr(gate_module, "check_agreement_gate", gate)
    metrics = tmp_path / "metrics.json"
    metrics.write_text("{}")
    args = _label(_pairs(tmp_path), tmp_path / "prefs.jsonl", "--agreement", str(metrics))
    result = runner.invoke(app, [*args, "--min-agreement", "0.5"])
    assert result.exit_code == 2, result.output
    assert asked == ["pointwise"]  # not None ("any mode"), not "auto"
    result = runner.invoke(app, [*args, "--min-agreement", "0.5", "--mode", "logprob"])
    assert asked == ["pointwise", "logprob"]


def test_a_logprob_measurement_does_not_gate_auto_labelling(tmp_path: Path) -> None:
    """The README's old pair of commands: measured in logprob, labelled with auto (pointwise
    for a local judge). The gate refuses, naming the mode it needs and the measured one."""
    run_agreement(
        [JudgeSpec(model="fake/prefer-first", mode="logprob", constitution="minimal")],
        AgreementSettings(data=str(_human(tmp_path)), n_resamples=200),
        out=tmp_path / "agreement",
    )
    out = tmp_path / "prefs.jsonl"
    args = _label(_pairs(tmp_path), out, "--agreement", str(tmp_path / "agreement"))
    result = runner.invoke(app, [*args, "--min-agreement", "0.1"])
    assert result.exit_code == 2, result.output
    line = _one_line_error(result.output)
    assert "fake/prefer-first in mode pointwise was not measured" in line
    assert "fake/prefer-first [logprob]" in line and "--mode pointwise" in line
    assert not out.exists()


def test_an_auto_row_is_not_taken_for_another_mode(tmp_path: Path) -> None:
    """A judge measured with auto has a row named by the model alone; it holds the mode auto
    resolved to (pointwise here) and gates that mode only."""
    run = run_agreement(
        [JudgeSpec(model="fake/prefer-first", constitution="minimal")],
        AgreementSettings(data=str(_human(tmp_path)), n_resamples=200),
    )
    assert run.metrics.results["fake/prefer-first"].mode == "pointwise"
    check_agreement_gate("fake/prefer-first", run, mode="pointwise", min_agreement=0.0)
    with pytest.raises(AgreementGateError, match="in mode logprob was not measured"):
        check_agreement_gate("fake/prefer-first", run, mode="logprob", min_agreement=0.0)


def test_the_readme_commands_agree_when_both_leave_the_mode_to_auto(tmp_path: Path) -> None:
    agreement = tmp_path / "agreement"
    measured = runner.invoke(
        app,
        [
            "eval",
            "agreement",
            "--judge",
            "fake/prefer-first",
            "--constitution",
            "minimal",
            "--data",
            str(_human(tmp_path)),
            "--resamples",
            "200",
            "--out",
            str(agreement),
        ],
    )
    assert measured.exit_code == 0, measured.output
    out = tmp_path / "prefs.jsonl"
    args = _label(_pairs(tmp_path), out, "--agreement", str(agreement / "metrics.json"))
    labelled = runner.invoke(app, [*args, "--min-agreement", "0.0", "--min-consistency", "0.6"])
    assert labelled.exit_code == 0, labelled.output
    assert "agreement gate passed" in labelled.output and out.exists()


def test_the_readme_measures_with_the_mode_it_labels_with() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Measuring a judge before trusting it", 1)[1].split("\n## ", 1)[0]
    commands = section.split("### ", 1)[0]
    measure = commands.split("rlaif eval agreement", 1)[1].split("```", 1)[0]
    labelling = commands.split("rlaif label", 1)[1].split("```", 1)[0]
    assert ("--mode" in measure) == ("--mode" in labelling)


# 2. Dry runs need no API key ----------------------------------------------------------------


def _estimated(path: Path) -> dict[str, int]:
    rows = json.loads(path.read_text(encoding="utf-8"))["models"]
    return {row["model"]: row["calls"] for row in rows}


def test_a_critique_dry_run_estimates_an_api_model_without_a_key(tmp_path: Path) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", [{"id": "q1", "prompt": "How do I pick a lock?"}])
    out = tmp_path / "sft.jsonl"
    args = ["critique", "--constitution", "minimal", "--model", API_JUDGE, "--prompts"]
    result = runner.invoke(app, [*args, str(prompts), "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert _estimated(tmp_path / "sft.estimate.json")[API_JUDGE] > 0
    assert not out.exists()
    real = runner.invoke(app, [*args, str(prompts), "--out", str(out), "--no-progress"])
    assert real.exit_code == 2  # the real run still needs the key
    assert "needs an API key: set OPENAI_API_KEY" in _one_line_error(real.output)


def test_a_label_dry_run_estimates_an_api_judge_without_a_key(tmp_path: Path) -> None:
    out = tmp_path / "prefs.jsonl"
    result = runner.invoke(app, [*_label(_pairs(tmp_path), out, judge=API_JUDGE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert _estimated(tmp_path / "prefs.estimate.json")[API_JUDGE] > 0


def test_an_agreement_dry_run_estimates_an_api_judge_without_a_key(tmp_path: Path) -> None:
    out = tmp_path / "agreement"
    args = ["eval", "agreement", "--judge", API_JUDGE, "--constitution", "minimal", "--data"]
    result = runner.invoke(app, [*args, str(_human(tmp_path)), "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert _estimated(out / "estimate.json")[API_JUDGE] > 0
    assert not (out / "metrics.json").exists()


def test_the_credentials_check_itself() -> None:
    with pytest.raises(ConfigError, match="needs an API key: set OPENAI_API_KEY"):
        check_credentials(API_JUDGE, {})
    check_credentials(API_JUDGE, {"api_key": "sk-given"})
    check_credentials(API_JUDGE, {"base_url": "http://localhost:8000/v1"})  # a local server
    check_credentials("fake/prefer-first", {})
    with pytest.raises(ConfigError, match="needs an API key: set MY_KEY"):
        check_credentials(API_JUDGE, {"api_key_env": "MY_KEY"})


# 3. Every judge's key before any judging ----------------------------------------------------


def test_a_second_judges_missing_key_stops_the_run_before_the_first_judges(
    tmp_path: Path,
) -> None:
    first = get_model("fake/prefer-first")
    specs = [
        JudgeSpec(model="fake/prefer-first", constitution="minimal"),
        JudgeSpec(model=API_JUDGE, constitution="minimal"),
    ]
    with pytest.raises(ConfigError, match=f"{API_JUDGE} needs an API key"):
        run_agreement(
            specs,
            AgreementSettings(data=str(_human(tmp_path)), n_resamples=200),
            out=tmp_path / "agreement",
            models={"fake/prefer-first": first},
        )
    assert first.backend.calls == []  # type: ignore[attr-defined]
    assert first.usage.calls == 0


def test_eval_agreement_refuses_before_judging_when_a_judge_has_no_key(tmp_path: Path) -> None:
    out = tmp_path / "agreement"
    args = ["eval", "agreement", "--judge", "fake/prefer-first", "--judge", API_JUDGE]
    result = runner.invoke(
        app,
        [*args, "--constitution", "minimal", "--data", str(_human(tmp_path)), "--out", str(out)],
    )
    assert result.exit_code == 2, result.output
    assert f"{API_JUDGE} needs an API key" in _one_line_error(result.output)
    assert not (out / "judgments").exists()  # the first judge never ran


# 4. eval rm on a missing folder -------------------------------------------------------------


def test_eval_rm_names_a_missing_model_folder(tmp_path: Path) -> None:
    args = ["eval", "rm", "--data", str(_human(tmp_path)), "--out", str(tmp_path / "o")]
    missing = runner.invoke(app, [*args, "--model", str(tmp_path / "runs" / "rm")])
    assert missing.exit_code == 2
    line = _one_line_error(missing.output)
    assert f"model folder not found: {tmp_path / 'runs' / 'rm'}" in line
    assert "config.json" not in line
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, [*args, "--model", str(tmp_path / "empty")])
    assert empty.exit_code == 2
    assert "not a model folder (no config.json)" in _one_line_error(empty.output)


# 5. --pairs takes the suites --data takes ---------------------------------------------------


def test_pairs_resolves_a_builtin_suite_to_its_file(tmp_path: Path) -> None:
    suite = find_suite("hh-harmless")
    assert suite is not None
    assert pair_file("hh-harmless") == suite.resolve_path()
    own = _pairs(tmp_path)
    assert pair_file(own) == own  # a file is a file
    with pytest.raises(DataFileError, match="file not found: nope.jsonl .*--pairs takes"):
        pair_file("nope.jsonl")
    with pytest.raises(DataFileError, match="not a local file .*--data takes any suite"):
        pair_file("hh-rlhf-harmless-base")  # a hub suite: --data reads it, --pairs cannot


def test_label_pairs_takes_a_suite_name(tmp_path: Path) -> None:
    out = tmp_path / "prefs.jsonl"
    result = runner.invoke(app, [*_label(Path("hh-harmless"), out), "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert out.exists()
    missing = runner.invoke(app, _label(tmp_path / "nope.jsonl", tmp_path / "p2.jsonl"))
    assert missing.exit_code == 2
    assert "--pairs takes a pair file, or a suite" in _one_line_error(missing.output)


def test_eval_agreement_pairs_takes_a_suite_name(tmp_path: Path) -> None:
    suite = find_suite("hh-harmless")
    assert suite is not None
    ids = [
        json.loads(line)["id"]
        for line in suite.resolve_path().read_text(encoding="utf-8").splitlines()[:3]
    ]
    labels = _write(
        tmp_path / "labels.jsonl",
        [
            {
                "pair_id": pair_id,
                "annotator": "alice",
                "preferred": 1,
                "strength": "better",
                "shown": [1, 2],
                "seconds": 3.0,
                "time": "2026-12-02T08:30:01.123+00:00",
            }
            for pair_id in ids
        ],
    )
    out = tmp_path / "agreement"
    args = ["eval", "agreement", "--judge", "fake/prefer-first", "--constitution", "minimal"]
    result = runner.invoke(
        app,
        [*args, "--data", str(labels), "--pairs", "hh-harmless", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["results"]["fake/prefer-first"]["n_pairs"] == 3

"""``rlaif eval`` commands: user errors exit with status 2 and one clear message."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rlaif.cli.app import app

runner = CliRunner()


def test_eval_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    for command in ("agreement", "rm", "policy"):
        assert command in result.output


def test_agreement_user_errors(tmp_path: Path, pairs_file: Path) -> None:
    missing = runner.invoke(
        app,
        [
            "eval",
            "agreement",
            "--judge",
            "fake/prefer-first",
            "--data",
            str(tmp_path / "none.jsonl"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert missing.exit_code == 2 and "no such file, hub id" in missing.output
    bad_mode = runner.invoke(
        app,
        [
            "eval",
            "agreement",
            "--judge",
            "fake/x",
            "--data",
            str(pairs_file),
            "--mode",
            "vibes",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert bad_mode.exit_code == 2 and "--mode must be one of" in bad_mode.output
    bad_option = runner.invoke(
        app,
        [
            "eval",
            "agreement",
            "--judge",
            "fake/x",
            "--data",
            str(pairs_file),
            "--judge-option",
            "novalue",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert bad_option.exit_code == 2 and "KEY=VALUE" in bad_option.output


def test_policy_and_rm_user_errors(tmp_path: Path, pairs_file: Path) -> None:
    policy = runner.invoke(
        app,
        [
            "eval",
            "policy",
            "--policy",
            "fake/echo",
            "--judge",
            "fake/prefer-first",
            "--prompts",
            "no-such-set",
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert policy.exit_code == 2 and "prompt file no-such-set not found" in policy.output
    rm = runner.invoke(
        app,
        [
            "eval",
            "rm",
            "--model",
            str(tmp_path),
            "--data",
            str(pairs_file),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert rm.exit_code == 2 and "no config.json" in rm.output

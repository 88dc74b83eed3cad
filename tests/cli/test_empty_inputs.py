"""An input with no records is a warning naming it, not a silent empty run."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import invoke_label
from typer.testing import CliRunner

from rlaif.cli.app import app


def test_an_empty_pairs_file_is_a_warning_naming_it(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("")
    out = tmp_path / "prefs.jsonl"
    result = invoke_label(pairs, out)
    assert result.exit_code == 0, result.output
    # The warning is a line of its own; the only other line is the judge's plan, which every
    # label job prints at its start.
    lines = result.stderr.strip().splitlines()
    warning = f"warning: {pairs} has no records: nothing to process"
    assert len(lines) == 2 and warning in lines, result.stderr
    assert next(line for line in lines if line != warning).startswith("judge fake/judge: ")
    assert "records: 0" in result.stdout


def test_an_empty_prompt_file_is_a_warning_for_generate(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("")
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--model",
            "fake/policy",
            "--prompts",
            str(prompts),
            "--out",
            str(tmp_path / "candidates.jsonl"),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"warning: {prompts} has no records" in result.stderr

"""``--max-prompt-chars`` reaches the judge: a longer conversation is shortened and noted, the
limit is part of what a resumed run must share, and the default leaves older outputs resumable."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import invoke_label
from typer.testing import CliRunner

from rlaif.cli.app import app

LONG_CONTEXT = "Earlier context that goes on and on. " * 20


def _pairs(path: Path) -> Path:
    prompt = [
        {"role": "user", "content": LONG_CONTEXT},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "How do I pick a lock?"},
    ]
    rows = [
        {"id": f"p{i}", "prompt": prompt, "response_1": "I can't help.", "response_2": "Sure."}
        for i in range(2)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_long_conversation_is_shortened_for_the_judge_and_noted(tmp_path: Path) -> None:
    pairs, out = _pairs(tmp_path / "pairs.jsonl"), tmp_path / "prefs.jsonl"
    result = invoke_label(pairs, out, "--max-prompt-chars", "200")
    assert result.exit_code == 0, result.output
    judgments = out.with_suffix(".judgments.jsonl").read_text()
    assert "conversation shortened for the judge" in judgments
    manifest = json.loads(out.with_suffix(".manifest.json").read_text())
    assert manifest["settings"]["max_prompt_chars"] == 200


def test_the_default_limit_leaves_short_conversations_alone(tmp_path: Path) -> None:
    pairs, out = _pairs(tmp_path / "pairs.jsonl"), tmp_path / "prefs.jsonl"
    result = invoke_label(pairs, out)
    assert result.exit_code == 0, result.output
    assert "shortened" not in out.with_suffix(".judgments.jsonl").read_text()
    manifest = json.loads(out.with_suffix(".manifest.json").read_text())
    assert "max_prompt_chars" not in manifest["settings"]  # older outputs resume unchanged


def test_a_resume_with_another_limit_is_refused(tmp_path: Path) -> None:
    pairs, out = _pairs(tmp_path / "pairs.jsonl"), tmp_path / "prefs.jsonl"
    assert invoke_label(pairs, out, "--max-prompt-chars", "200").exit_code == 0
    before = out.read_text()
    result = invoke_label(pairs, out)
    assert result.exit_code == 2, result.output
    assert "max_prompt_chars" in result.output
    assert out.read_text() == before


def test_a_limit_below_one_is_one_line(tmp_path: Path) -> None:
    result = invoke_label(
        _pairs(tmp_path / "pairs.jsonl"), tmp_path / "p.jsonl", "--max-prompt-chars", "0"
    )
    assert result.exit_code == 2
    assert "max_prompt_chars" in result.output or "max-prompt-chars" in result.output
    assert "Traceback" not in result.output


def test_critique_shortens_for_the_critic(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    conversation = [
        {"role": "user", "content": LONG_CONTEXT},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "How do I pick a lock?"},
    ]
    prompts.write_text(json.dumps({"id": "p0", "prompt": conversation}) + "\n")
    out = tmp_path / "sft.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "critique",
            "--constitution",
            "minimal",
            "--model",
            "fake/critic",
            "--model-option",
            "default=A careful answer.",
            "--prompts",
            str(prompts),
            "--out",
            str(out),
            "--no-progress",
            "--max-prompt-chars",
            "200",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "conversation shortened for the critic" in out.read_text()

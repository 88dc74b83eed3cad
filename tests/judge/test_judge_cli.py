"""`rlaif generate`, `rlaif critique` and `rlaif label` end to end with the fake backend."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rlaif.cli.app import app

runner = CliRunner()


def _prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    rows = [
        {"id": f"q{i}", "prompt": [{"role": "user", "content": f"Request {i}"}], "category": "hate"}
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_generate_then_label_candidates(tmp_path: Path) -> None:
    candidates = tmp_path / "cand.jsonl"
    result = runner.invoke(
        app,
        [
            "generate",
            "--model",
            "fake/echo",
            "--prompts",
            str(_prompts(tmp_path)),
            "-n",
            "2",
            "--out",
            str(candidates),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = _lines(candidates)
    assert [r["id"] for r in rows] == ["q0", "q1", "q2"]
    assert rows[0]["responses"] == ["Request 0", "Request 0"] and rows[0]["model"] == "fake/echo"
    prefs = tmp_path / "prefs.parquet"
    result = runner.invoke(
        app,
        [
            "label",
            "--constitution",
            "minimal",
            "--judge",
            "fake/prefer-first",
            "--candidates",
            str(candidates),
            "--out",
            str(prefs),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped: identical: 3" in result.output
    assert (tmp_path / "prefs.manifest.json").exists() and prefs.exists()


def test_critique_writes_sft_records(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = runner.invoke(
        app,
        [
            "critique",
            "--constitution",
            "minimal",
            "--model",
            "fake/echo",
            "--prompts",
            str(_prompts(tmp_path)),
            "--out",
            str(out),
            "--rounds",
            "2",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    records = _lines(out)
    assert len(records) == 3 and all(len(r["revisions"]) == 2 for r in records)
    assert records[0]["messages"][0] == {"role": "user", "content": "Request 0"}
    assert "calls this run: 15" in result.output  # 3 initial responses + 3 x 2 x 2


def test_critique_distill_needs_no_critic(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    args = ["critique", "--constitution", "cai-harmless", "--prompts", str(_prompts(tmp_path))]
    result = runner.invoke(
        app,
        [*args, "--method", "distill", "--policy", "fake/echo", "--out", str(out), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    records = _lines(out)
    assert len(records) == 3 and all(r["critiques"] == [] for r in records)
    assert all(r["messages"][-1]["content"].startswith("I'm sorry") for r in records)
    assert "calls this run: 3" in result.output  # one policy call per prompt
    missing = runner.invoke(app, [*args, "--out", str(tmp_path / "b.jsonl"), "--no-progress"])
    assert missing.exit_code == 2 and "--model" in missing.output


def test_label_contrastive_from_prompts(tmp_path: Path) -> None:
    out = tmp_path / "prefs.jsonl"
    result = runner.invoke(
        app,
        [
            "label",
            "--constitution",
            "cai-harmless",
            "--judge",
            "fake/prefer-first",
            "--prompts",
            str(_prompts(tmp_path)),
            "--policy",
            "fake/echo",
            "--strategy",
            "contrastive",
            "--affix-form",
            "prefill",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    records = _lines(out)
    assert [r["principles"] for r in records] == [["hate"]] * 3
    assert records[0]["chosen"][0]["content"].startswith("I'm sorry, but I can't help with that.")


def test_user_errors_exit_2_with_one_message(tmp_path: Path) -> None:
    out = str(tmp_path / "o.jsonl")
    cases = [
        (
            ["label", "--constitution", "minimal", "--judge", "fake/x", "--out", out],
            "give exactly one input",
        ),
        (
            [
                "label",
                "--constitution",
                "minimal",
                "--judge",
                "fake/x",
                "--out",
                out,
                "--pairs",
                "p.jsonl",
                "--mode",
                "guess",
            ],
            "--mode must be one of",
        ),
        (
            [
                "label",
                "--constitution",
                "minimal",
                "--judge",
                "fake/x",
                "--out",
                out,
                "--pairs",
                str(tmp_path / "missing.jsonl"),
            ],
            "file not found",
        ),
        (
            [
                "label",
                "--constitution",
                "minimal",
                "--judge",
                "fake/x",
                "--out",
                out,
                "--pairs",
                "p.jsonl",
                "--cot-band",
                "0.4",
            ],
            "--cot-band takes LOW,HIGH",
        ),
        (
            ["generate", "--model", "nope", "--prompts", "benign", "--out", out],
            "must look like 'provider/model'",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)


def test_limit_takes_the_first_items_and_extends_on_rerun(tmp_path: Path) -> None:
    out = tmp_path / "cand.jsonl"
    base = [
        "generate",
        "--model",
        "fake/echo",
        "--prompts",
        str(_prompts(tmp_path)),
        "--out",
        str(out),
        "--no-progress",
    ]
    assert runner.invoke(app, [*base, "--limit", "2"]).exit_code == 0
    assert [r["id"] for r in _lines(out)] == ["q0", "q1"]
    result = runner.invoke(app, base)  # the same run without the limit carries on
    assert result.exit_code == 0 and "resumed: 2 of 3" in result.output
    assert [r["id"] for r in _lines(out)] == ["q0", "q1", "q2"]

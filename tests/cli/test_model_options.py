"""``--judge-option``/``--model-option``/``--policy-option``: model settings reach the model from
the command line, against the project's real local OpenAI-compatible server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from support.scripted_server import ScriptedServer, write_pairs
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.datagen import LabelOptions
from rlaif.errors import ConfigError

runner = CliRunner()

# Verdict tokens for both verdict shapes (pairwise "A"/"B"-style and "1"/"2"), and the request
# check's "Yes"/"No" (safe at P 0.9: p_harmful about 0.2, so both sides are asked).
LOGPROBS = {"A": -0.1, "B": -2.5, "1": -0.1, "2": -2.5, "Yes": -0.1, "No": -2.5}
CALLS_PER_PAIR = 1 + 2  # the request check, then both orders under the likelier side's principle


def _pairs(folder: Path, count: int) -> Path:
    write_pairs(folder / "pairs.jsonl", count)
    return folder / "pairs.jsonl"


def _label(pairs: Path, out: Path, *extra: str) -> list[str]:
    return [
        "label",
        "--constitution",
        "cai-harmless",
        "--judge",
        "openai/served-judge",
        "--pairs",
        str(pairs),
        "--out",
        str(out),
        "--mode",
        "logprob",
        "--principles-per-pair",
        "1",
        "--no-progress",
        *extra,
    ]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_label_reaches_the_server_named_by_judge_option(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path, 3)
    out = tmp_path / "prefs.jsonl"
    with ScriptedServer(logprobs=LOGPROBS) as server:
        result = runner.invoke(app, _label(pairs, out, "--judge-option", f"base_url={server.url}"))
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 3 * CALLS_PER_PAIR
        assert {r["model"] for r in server.requests} == {"served-judge"}
        # One line at the start says how the judge labels.
        assert "judge openai/served-judge: logprob (" in result.output
        assert "request check" in result.output
    manifest = json.loads(out.with_suffix(".manifest.json").read_text())
    assert manifest["judge"] == "openai/served-judge"
    assert manifest["settings"]["judge_options"] == {"base_url": server.url}


def test_max_concurrency_option_lifts_the_in_flight_limit(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path, 64)
    # The server shares this process (and, on a loaded machine, the CPU) with the client, so
    # the test asks for twice the old cap of 8, not for all 64 at once.
    with ScriptedServer(logprobs=LOGPROBS, latency_s=0.5) as server:
        result = runner.invoke(
            app,
            _label(
                pairs,
                tmp_path / "prefs.jsonl",
                "--judge-option",
                f"base_url={server.url}",
                "--judge-option",
                "max_concurrency=64",
                "--concurrency",
                "64",
            ),
        )
        assert result.exit_code == 0, result.output
        assert server.peak_in_flight > 16, server.peak_in_flight  # was capped at 8


def test_concurrency_follows_max_concurrency_when_not_given() -> None:
    options = LabelOptions(
        constitution="minimal",
        judge="fake/x",
        out=Path("prefs.jsonl"),
        judge_options={"max_concurrency": 48},
        concurrency=None,
    )
    assert options.concurrency == 48
    plain = LabelOptions(constitution="minimal", judge="fake/x", out=Path("prefs.jsonl"))
    assert plain.concurrency == 8


def test_a_rerun_with_another_timeout_resumes(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path, 2)
    out = tmp_path / "prefs.jsonl"
    with ScriptedServer(logprobs=LOGPROBS) as server:
        url = f"base_url={server.url}"
        first = runner.invoke(
            app, _label(pairs, out, "--judge-option", url, "--judge-option", "timeout_s=30")
        )
        assert first.exit_code == 0, first.output
        again = runner.invoke(
            app,
            _label(
                pairs,
                out,
                "--judge-option",
                url,
                "--judge-option",
                "timeout_s=90",
                "--judge-option",
                "max_concurrency=4",
            ),
        )
        assert again.exit_code == 0, again.output
        assert "resumed: 2 of 2 already done" in again.output
        assert len(server.requests) == 2 * CALLS_PER_PAIR  # nothing asked twice


def test_unknown_option_is_one_error_naming_the_accepted_ones(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path, 1)
    result = runner.invoke(
        app, _label(pairs, tmp_path / "prefs.jsonl", "--judge-option", "timeot_s=3")
    )
    assert result.exit_code == 2
    assert "unknown option(s) for openai/served-judge: timeot_s" in result.output
    assert "accepted:" in result.output and "timeout_s" in result.output
    assert "base_url" in result.output and "max_concurrency" in result.output
    assert not (tmp_path / "prefs.jsonl").exists()


def test_policy_option_needs_a_policy() -> None:
    with pytest.raises(ConfigError, match="--policy-option needs --policy"):
        LabelOptions(
            constitution="minimal",
            judge="fake/x",
            out=Path("prefs.jsonl"),
            policy_options={"timeout_s": 3},
        )


def test_generate_model_option_and_the_url_in_connection_errors(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "q1", "prompt": "hello"}) + "\n")
    port = _closed_port()
    out = tmp_path / "candidates.jsonl"
    result = runner.invoke(
        app,
        [
            "generate",
            "--model",
            "openai/served-policy",
            "--model-option",
            f"base_url=http://127.0.0.1:{port}/v1",
            "--model-option",
            "max_retries=0",
            "--prompts",
            str(prompts),
            "--out",
            str(out),
            "-n",
            "1",
            "--no-progress",
        ],
    )
    assert result.exit_code == 1, result.output  # every item failed: the run says so
    assert "every item of this run failed (1)" in result.output
    skipped = out.with_suffix(".skipped.jsonl").read_text()
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in skipped
    assert "api.openai.com" not in skipped


def test_critique_model_and_policy_options_reach_their_models(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "q1", "prompt": "hello"}) + "\n")
    with ScriptedServer() as critic, ScriptedServer() as policy:
        result = runner.invoke(
            app,
            [
                "critique",
                "--constitution",
                "minimal",
                "--model",
                "openai/critic",
                "--model-option",
                f"base_url={critic.url}",
                "--policy",
                "openai/policy",
                "--policy-option",
                f"base_url={policy.url}",
                "--prompts",
                str(prompts),
                "--out",
                str(tmp_path / "sft.jsonl"),
                "--rounds",
                "1",
                "--no-progress",
            ],
        )
        assert result.exit_code == 0, result.output
        assert {r["model"] for r in policy.requests} == {"policy"}
        assert {r["model"] for r in critic.requests} == {"critic"}
        assert len(policy.requests) == 1 and len(critic.requests) == 2


def test_api_key_env_option_picks_the_key_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLAIF_TEST_SERVER_KEY", "local-key-123")
    pairs = _pairs(tmp_path, 1)
    with ScriptedServer(logprobs=LOGPROBS) as server:
        result = runner.invoke(
            app,
            _label(
                pairs,
                tmp_path / "prefs.jsonl",
                "--judge-option",
                f"base_url={server.url}",
                "--judge-option",
                "api_key_env=RLAIF_TEST_SERVER_KEY",
            ),
        )
        assert result.exit_code == 0, result.output
        assert {h.get("authorization") for h in server.headers} == {"Bearer local-key-123"}
    assert "local-key-123" not in (tmp_path / "prefs.manifest.json").read_text()

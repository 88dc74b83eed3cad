"""``--dry-run``: what a job would send, counted without sending it; what is already done or
cached is not counted; the real run shows the estimate next to what it spent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.scripted_server import ScriptedServer, write_pairs
from typer.testing import CliRunner

from rlaif.cli.app import app

runner = CliRunner()
# The verdict, and the request check's answer (safe at P 0.9: p_harmful about 0.2, so both sides
# are asked, as a dry run assumes).
LOGPROBS = {"A": -0.1, "B": -2.5, "Yes": -0.1, "No": -2.5}
CALLS_PER_PAIR = 1 + 2  # the request check, then both orders under the likelier side's principle
PRICES = [
    "--judge-option",
    "price_input_per_million=2.0",
    "--judge-option",
    "price_output_per_million=8.0",
]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dry-run")


def _pairs(folder: Path, count: int) -> Path:
    write_pairs(folder / "pairs.jsonl", count)
    return folder / "pairs.jsonl"


def _label(server: ScriptedServer, pairs: Path, out: Path, *extra: str):
    return runner.invoke(
        app,
        [
            "label",
            "--constitution",
            "cai-harmless",
            "--judge",
            "openai/served-judge",
            "--judge-option",
            f"base_url={server.url}",
            *PRICES,
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
        ],
    )


def _estimate(out: Path) -> dict:
    (row,) = json.loads(out.with_name(f"{out.stem}.estimate.json").read_text())["models"]
    return row


def test_a_dry_run_sends_nothing_and_counts_every_call(tmp_path: Path) -> None:
    pairs, out = _pairs(tmp_path, 6), tmp_path / "run" / "prefs.jsonl"
    with ScriptedServer(logprobs=LOGPROBS) as server:
        result = _label(server, pairs, out, "--dry-run")
        assert result.exit_code == 0, result.output
        assert server.requests == []
    assert "dry run" in result.output and "USD" in result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["prefs.estimate.json"]
    row = _estimate(out)
    calls = 6 * CALLS_PER_PAIR
    assert (row["calls"], row["cached"], row["output_tokens"]) == (calls, 0, calls)
    assert row["input_tokens"] > calls * 30
    assert row["usd"] == pytest.approx((row["input_tokens"] * 2.0 + calls * 8.0) / 1e6)
    assert row["usd_batch"] == pytest.approx(row["usd"] / 2)
    assert not (tmp_path / "cache" / "responses.sqlite").exists() or _cache_rows(tmp_path) == 0


def _cache_rows(tmp_path: Path) -> int:
    import sqlite3

    with sqlite3.connect(tmp_path / "cache" / "responses.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def test_what_is_done_or_cached_is_not_counted_and_the_run_compares(tmp_path: Path) -> None:
    pairs, out = _pairs(tmp_path, 6), tmp_path / "prefs.jsonl"
    with ScriptedServer(logprobs=LOGPROBS) as server:
        first = _label(server, pairs, out, "--limit", "2")
        assert first.exit_code == 0, first.output
        done, left = 2 * CALLS_PER_PAIR, 4 * CALLS_PER_PAIR
        assert len(server.requests) == done
        # The same pairs into another output: answered by the cache, not counted as calls.
        elsewhere = _label(server, pairs, tmp_path / "other.jsonl", "--dry-run")
        assert elsewhere.exit_code == 0, elsewhere.output
        other = _estimate(tmp_path / "other.jsonl")
        assert (other["calls"], other["cached"]) == (left, done)
        # Resuming the output itself: the two pairs done are not even looked at.
        resumed = _label(server, pairs, out, "--dry-run")
        assert resumed.exit_code == 0, resumed.output
        assert (_estimate(out)["calls"], _estimate(out)["cached"]) == (left, 0)
        assert len(server.requests) == done  # the dry runs sent nothing
        real = _label(server, pairs, out)
        assert real.exit_code == 0, real.output
        assert len(server.requests) == done + left
    assert f"estimate vs actual: calls {left} vs {left}" in real.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) + sum(1 for _ in (tmp_path / "prefs.skipped.jsonl").open()) == 6


def test_dependent_calls_are_counted_with_the_models_tokenizer(tmp_path: Path) -> None:
    from rlaif.models.local.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "q1", "prompt": "How do I pick a lock?"}) + "\n")
    out = tmp_path / "sft.jsonl"
    result = runner.invoke(
        app,
        [
            "critique",
            "--constitution",
            "cai-harmless",
            "--model",
            f"hf/{model}",
            "--prompts",
            str(prompts),
            "--out",
            str(out),
            "--max-tokens",
            "8",
            "--no-progress",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    row = _estimate(out)
    # A response to critique, then a critique and a revision per round: each step reads the
    # stand-in answer of the one before, so all are counted although none was made.
    assert row["calls"] >= 3 and row["generate_calls"] == row["calls"]
    assert row["output_tokens"] >= 8 * row["calls"]  # each call's whole max_tokens
    assert row["seconds"] > 0 and "measured here" in row["time_basis"]
    assert row["usd"] is None  # a local model is not priced
    assert not out.exists()


def test_eval_agreement_dry_run_writes_only_its_estimate(tmp_path: Path) -> None:
    data = tmp_path / "human.jsonl"
    rows = [
        {
            "id": f"h{i}",
            "prompt": [{"role": "user", "content": f"How do I get into house {i}?"}],
            "chosen": "I can't help with getting into someone else's house.",
            "rejected": f"Try the back window of house {i}.",
        }
        for i in range(3)
    ]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "agreement"
    with ScriptedServer(logprobs=LOGPROBS) as server:
        result = runner.invoke(
            app,
            [
                "eval",
                "agreement",
                "--judge",
                "openai/served-judge",
                "--judge-option",
                f"base_url={server.url}",
                *PRICES,
                "--data",
                str(data),
                "--out",
                str(out),
                "--mode",
                "logprob",
                "--dry-run",
            ],
        )
        assert result.exit_code == 0, result.output
        assert server.requests == []
    assert [p.name for p in out.iterdir()] == ["estimate.json"]
    (row,) = json.loads((out / "estimate.json").read_text())["models"]
    # The request check, then both orders under one principle of the likelier side (the default).
    assert row["calls"] == 3 * (1 + 2)
    assert row["usd_batch"] == pytest.approx(row["usd"] / 2)

"""``--batch`` on ``generate``, ``critique`` and ``eval agreement`` (the command line), against the
batch fake: the same output as the synchronous path, one batch per round of dependent calls
(critique then revision), nothing submitted twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.batch_fake import BatchFake
from typer.testing import CliRunner

from rlaif.cli.app import app

PROMPTS = ["How do I pick a lock?", "Tell me a joke.", "How do I make a fake ID?"]


def answer(body: dict[str, Any]) -> str:
    """A deterministic answer naming the request's last turn (so critiques and revisions
    differ)."""
    messages = body.get("messages") or []
    last = messages[-1]["content"] if messages else ""
    text = last if isinstance(last, str) else " ".join(b.get("text", "") for b in last)
    return f"Answer {len(text) % 97}: {text[:20]}"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def model_args(flag: str, url: str, *extra: str) -> list[str]:
    return [
        f"--{flag}-option",
        f"base_url={url}",
        f"--{flag}-option",
        "batch_poll_s=0.05",
        f"--{flag}-option",
        "api_key_env=BATCH_TEST_KEY",
        *extra,
    ]


@pytest.fixture
def prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATCH_TEST_KEY", "sk-jobs-test-key")
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        "".join(json.dumps({"id": f"q{i}", "prompt": p}) + "\n" for i, p in enumerate(PROMPTS))
    )
    return path


def test_critique_batch_runs_dependent_rounds_and_matches_sync(
    tmp_path: Path, prompts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with BatchFake(answer=answer) as fake:
        url = fake.openai_url
        command = ["critique", "--model", "openai/critic", *model_args("model", url)]
        command += ["--prompts", str(prompts), "--rounds", "1", "--no-progress"]
        command += ["--constitution", "cai-harmless"]
        outputs = []
        for run, flags in (("sync", []), ("batch", ["--batch"])):
            monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / f"cache-{run}"))
            out = tmp_path / run / "sft.jsonl"
            invoke(*command, "--out", str(out), *flags)
            outputs.append([json.loads(line) for line in out.read_text().splitlines()])
            if run == "sync":
                synchronous_calls = len(fake.sync_requests)
        assert len(fake.sync_requests) == synchronous_calls  # the batch run made none
        # initial response, critique, revision: three rounds of one batch each
        assert len(fake.creations) == 3 and fake.submitted_twice() == 0
        assert [len(c["custom_ids"]) for c in fake.creations] == [3, 3, 3]
    strip = lambda row: {k: v for k, v in row.items() if k != "metadata"}  # noqa: E731
    assert [strip(r) for r in outputs[1]] == [strip(r) for r in outputs[0]] and outputs[0]


def test_generate_batch_matches_sync(
    tmp_path: Path, prompts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with BatchFake(answer=answer) as fake:
        command = ["generate", "--model", "openai/policy", *model_args("model", fake.openai_url)]
        command += ["--prompts", str(prompts), "-n", "2", "--no-progress"]
        outputs = []
        for run, flags in (("sync", []), ("batch", ["--batch"])):
            monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / f"cache-{run}"))
            out = tmp_path / run / "candidates.jsonl"
            invoke(*command, "--out", str(out), *flags)
            outputs.append([json.loads(line)["responses"] for line in out.read_text().splitlines()])
        assert len(fake.creations) == 1 and len(fake.creations[0]["custom_ids"]) == 6
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3


def test_eval_agreement_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TEST_KEY", "sk-jobs-test-key")
    human = tmp_path / "human.jsonl"
    rows = [
        {
            "id": f"h{i}",
            "prompt": [{"role": "user", "content": f"q {i}"}],
            "chosen": f"good {i}",
            "rejected": f"bad {i}",
        }
        for i in range(8)
    ]
    human.write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = []
    with BatchFake() as fake:
        for run, flags in (("sync", []), ("batch", ["--batch"])):
            monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / f"cache-{run}"))
            out = tmp_path / run
            invoke(
                "eval",
                "agreement",
                "--judge",
                "openai/judge",
                *model_args("judge", fake.openai_url),
                "--data",
                str(human),
                "--out",
                str(out),
                "--mode",
                "logprob",
                "--constitution",
                "minimal",
                "--resamples",
                "100",
                *flags,
            )
            metrics.append(json.loads((out / "metrics.json").read_text()))
        assert len(fake.creations) == 1 and fake.submitted_twice() == 0
        assert len(fake.creations[0]["custom_ids"]) == 16  # both orders of 8 pairs

    def figures(m: dict[str, Any]) -> list[Any]:
        return [(r["n_answered"], r["accuracy"]) for r in m["results"].values() if "accuracy" in r]

    assert figures(metrics[0]) == figures(metrics[1])
    assert metrics[1]["results"]["openai/judge [logprob]"]["n_answered"] == 8

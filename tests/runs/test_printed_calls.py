"""What a dataset job prints equals what its manifest records and what the provider received:
every job kind counts its calls from the models' usage events, never by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from support.scripted_server import ScriptedServer, write_pairs

LOGPROBS = {"A": -0.1, "B": -2.5, "Yes": -1.3, "No": -0.3}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-printed-calls")


def _prompts(tmp_path: Path, count: int = 3) -> Path:
    path = tmp_path / "prompts.jsonl"
    rows = [
        {"id": f"q{i}", "prompt": [{"role": "user", "content": f"Request {i}"}], "category": "hate"}
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _served(server: ScriptedServer, role: str) -> list[str]:
    return [f"--{role}", "openai/served", f"--{role}-option", f"base_url={server.url}"]


JOBS = {
    "generate": lambda tmp, server: [
        "generate", "--prompts", str(_prompts(tmp)), "-n", "2", "--max-tokens", "8",
        "--model", "openai/served", "--model-option", f"base_url={server.url}",
    ],
    "critique revise": lambda tmp, server: [
        "critique", "--constitution", "minimal", "--prompts", str(_prompts(tmp)), "--rounds", "1",
        "--model", "openai/served", "--model-option", f"base_url={server.url}",
    ],
    "critique distill": lambda tmp, server: [  # prefilled: a scripted local policy
        "critique", "--constitution", "cai-harmless", "--method", "distill",
        "--prompts", str(_prompts(tmp)), "--policy", "fake/echo",
    ],
    "label judge": lambda tmp, server: [
        "label", "--constitution", "cai-harmless", "--pairs", str(tmp / "pairs.jsonl"),
        *_served(server, "judge"),
    ],
    "label contrastive": lambda tmp, server: [  # prefilled: a scripted local policy
        "label", "--constitution", "cai-harmless", "--strategy", "contrastive",
        "--prompts", str(_prompts(tmp)), "--policy", "fake/echo", *_served(server, "judge"),
    ],
}  # fmt: skip
LOCAL_CALLS = {"critique distill": 3, "label contrastive": 6}
"""Calls of the jobs whose policy is a scripted local model: one a prompt, or one a side."""


@pytest.mark.parametrize("job", sorted(JOBS))
def test_printed_calls_equal_the_manifest_and_the_requests_sent(job: str, tmp_path: Path) -> None:
    write_pairs(tmp_path / "pairs.jsonl", 3)
    out = tmp_path / "out.jsonl"
    with ScriptedServer(logprobs=LOGPROBS) as server:
        arguments = [*JOBS[job](tmp_path, server), "--out", str(out), "--no-progress"]
        result = CliRunner().invoke(app, arguments)
        sent = len(server.requests)
    assert result.exit_code == 0, result.output
    printed = re.search(r"calls this run: (\d+) \((\d+) from cache\)", result.output)
    assert printed, result.output
    usage = json.loads(out.with_name("out.manifest.json").read_text())["usage"]
    calls, cached = int(printed[1]), int(printed[2])
    assert (calls, cached) == (usage.get("calls", 0) + usage.get("cache_hits", 0), 0)
    assert calls == sent + LOCAL_CALLS.get(job, 0) > 0

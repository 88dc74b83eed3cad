"""With the shipped defaults, an API judge is asked under the constitution's principles: every
comparison it receives carries a principle's own question, and one run names several."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.scripted_server import ScriptedServer, write_pairs
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.constitution import load_constitution
from rlaif.judge.framing import REQUEST_HEADING

# A/B for comparisons, Yes/No for the request check: P(safe) about 0.27, so both sides are asked.
LOGPROBS = {"A": -0.1, "B": -2.5, "Yes": -1.3, "No": -0.3}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-principles")


def _asked(request: dict) -> str:
    return [m["content"] for m in request["messages"] if m["role"] == "user"][-1]


def test_an_api_judge_gets_principle_questions_in_every_comparison(tmp_path: Path) -> None:
    write_pairs(tmp_path / "pairs.jsonl", 6)
    out = tmp_path / "prefs.jsonl"
    with ScriptedServer(logprobs=LOGPROBS) as server:
        result = CliRunner().invoke(
            app,
            [
                "label",
                "--constitution",
                "cai-harmless",
                "--judge",
                "openai/served-judge",
                "--judge-option",
                f"base_url={server.url}",
                "--pairs",
                str(tmp_path / "pairs.jsonl"),
                "--out",
                str(out),
                "--no-progress",
            ],
        )
        requests = list(server.requests)
    assert result.exit_code == 0, result.output
    assert "logprob (auto: API judge that returns log-probabilities), both orders" in (
        result.output
    )
    questions = {
        p.id: " ".join(str(p.compare).split())
        for p in load_constitution("cai-harmless").eligible("compare")
    }
    checks = [r for r in requests if _asked(r).startswith(f"{REQUEST_HEADING}:")]
    comparisons = [r for r in requests if r not in checks]
    # both orders, one principle of the side the check finds likelier
    assert len(checks) == 6 and len(comparisons) == 6 * 2
    named = set()
    for request in comparisons:
        asked = " ".join(_asked(request).split())
        found = [pid for pid, question in questions.items() if question in asked]
        assert len(found) == 1, asked
        named.update(found)
    assert len(named) >= 2
    manifest = json.loads(out.with_name("prefs.manifest.json").read_text())
    assert manifest["judge_plan"]["mode"] == "logprob"
    assert manifest["judge_plan"]["why"] == "auto: API judge that returns log-probabilities"
    assert manifest["judge_plan"]["request_sides"] == "likelier"  # as the start line says

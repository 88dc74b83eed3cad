"""run_generate and run_critique: distinct samples, failures kept with reasons, resume."""

from __future__ import annotations

import json
from pathlib import Path

from rlaif.datagen import CritiqueOptions, GenerateOptions, run_critique, run_generate
from rlaif.judge.sampling import SamplingSettings
from rlaif.models import BackendError, get_model


def _prompts(tmp_path: Path, count: int = 3) -> Path:
    path = tmp_path / "prompts.jsonl"
    rows = [{"id": f"q{i}", "prompt": f"Request {i}", "category": "benign"} for i in range(count)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_generate_samples_with_distinct_seeds_and_resumes(tmp_path: Path) -> None:
    policy = get_model("fake/policy", outputs=lambda c, cfg: f"answer with seed {cfg.seed}")
    out = tmp_path / "cand.jsonl"
    options = GenerateOptions(
        model="fake/policy",
        prompts=str(_prompts(tmp_path)),
        out=out,
        sampling=SamplingSettings(n=3, temperature=1.0),
        progress=False,
    )
    summary = run_generate(options, model=policy)
    rows = _lines(out)
    assert summary.counts["records"] == 3 and all(len(set(r["responses"])) == 3 for r in rows)
    assert rows[0]["metadata"]["finish_reasons"] == ["stop"] * 3
    again = run_generate(options, model=policy)
    assert again.already_done == 3 and again.calls == 0 and len(policy.backend.calls) == 9


def test_generate_failures_are_kept_with_the_reason(tmp_path: Path) -> None:
    policy = get_model("fake/down", outputs=["ok"], fail=[BackendError("quota exceeded")])
    out = tmp_path / "cand.jsonl"
    options = GenerateOptions(
        model="fake/down",
        prompts=str(_prompts(tmp_path, 2)),
        out=out,
        sampling=SamplingSettings(n=1),
        concurrency=1,
        progress=False,
    )
    run_generate(options, model=policy)
    (skipped,) = _lines(tmp_path / "cand.skipped.jsonl")
    assert skipped["id"] == "q0" and "quota exceeded" in skipped["reason"]
    assert [r["id"] for r in _lines(out)] == ["q1"]


def test_critique_from_candidates_and_failed_rounds(tmp_path: Path) -> None:
    candidates = tmp_path / "cand.jsonl"
    rows = [
        {
            "id": f"c{i}",
            "prompt": [{"role": "user", "content": f"R{i}"}],
            "responses": [f"first {i}", "second"],
            "model": "fake/p",
        }
        for i in range(2)
    ]
    candidates.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def critic(conversation: list[dict[str, str]], config: object) -> str:
        if "first 1" in conversation[-1]["content"]:
            raise BackendError("server error")
        return "Critique." if "Critique request" in conversation[-1]["content"] else "Better."

    out = tmp_path / "sft.jsonl"
    options = CritiqueOptions(
        constitution="minimal", model="fake/critic", candidates=candidates, out=out, progress=False
    )
    summary = run_critique(options, model=get_model("fake/critic", outputs=critic))
    (record,) = _lines(out)
    assert record["initial"] == "first 0" and record["messages"][-1]["content"] == "Better."
    (skipped,) = _lines(tmp_path / "sft.skipped.jsonl")
    assert skipped["id"] == "c1" and "server error" in skipped["reason"]
    assert skipped["metadata"]["partial"]["initial"] == "first 1"
    assert summary.counts == {"records": 1, "skipped": 1, "skipped: failed": 1}

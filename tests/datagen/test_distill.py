"""The ``distill`` method of run_critique: the policy's steered answer is the SFT target, with no
critic call; the steering comes from the constitution's ``contrast``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlaif.constitution import load_constitution
from rlaif.datagen import CritiqueOptions, run_critique
from rlaif.errors import ConfigError
from rlaif.judge.sampling import SamplingSettings, steered_conversation, trimmed_to_sentence
from rlaif.models import get_model


def _prompts(tmp_path: Path, category: str) -> Path:
    path = tmp_path / f"{category}.jsonl"
    rows = [
        {"id": f"{category}-{i}", "prompt": f"Request {i}", "category": category} for i in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_distill_keeps_the_steered_answer_after_the_bare_prompt(tmp_path: Path) -> None:
    policy = get_model("fake/policy", outputs=lambda c, cfg: "It could hurt someone.")
    out = tmp_path / "sft.jsonl"
    options = CritiqueOptions(
        constitution="cai-harmless",
        method="distill",
        policy="fake/policy",
        prompts=str(_prompts(tmp_path, "violence-and-weapons")),
        out=out,
        sampling=SamplingSettings(n=1, max_tokens=32),
        progress=False,
    )
    summary = run_critique(options, policy_model=policy)
    rows = _lines(out)
    opening = load_constitution("cai-harmless").contrast.positive_prefill
    assert summary.counts["records"] == 3
    for row in rows:
        assert row["messages"][0] == {"role": "user", "content": row["messages"][0]["content"]}
        assert len(row["messages"]) == 2  # the steering itself is not part of the target
        assert row["messages"][-1]["content"] == f"{opening} It could hurt someone."
        assert row["principles"] == ["violence-and-weapons"]
        assert row["metadata"]["method"] == "distill"
    # Each call was steered: the refusal opening prefilled as the start of the policy's turn.
    assert all(
        call.conversation[-1] == {"role": "assistant", "content": opening}
        for call in policy.backend.calls
    )
    again = run_critique(options, policy_model=policy)
    assert again.already_done == 3 and len(policy.backend.calls) == 3


def test_distill_under_helpful_is_the_plain_answer(tmp_path: Path) -> None:
    policy = get_model("fake/policy", outputs=lambda c, cfg: "Here is how. Step one. Step two")
    out = tmp_path / "sft.jsonl"
    options = CritiqueOptions(
        constitution="helpful",
        method="distill",
        policy="fake/policy",
        prompts=str(_prompts(tmp_path, "benign")),
        out=out,
        sampling=SamplingSettings(n=1, max_tokens=5),
        progress=False,
    )
    run_critique(options, policy_model=policy)
    rows = _lines(out)
    # No prefill and no system prompt: the policy answered the bare prompt.
    assert all(call.conversation[-1]["role"] == "user" for call in policy.backend.calls)
    assert all(c.conversation[0]["role"] != "system" for c in policy.backend.calls)
    # Cut off at max_tokens ("Here is how. Step one. Step"): trimmed to the last sentence.
    assert {r["messages"][-1]["content"] for r in rows} == {"Here is how. Step one."}
    assert all(r["metadata"]["trimmed"] for r in rows)


def test_distill_needs_a_policy_and_revise_needs_a_critic(tmp_path: Path) -> None:
    prompts = str(_prompts(tmp_path, "benign"))
    with pytest.raises(ConfigError, match="--policy"):
        CritiqueOptions(
            constitution="helpful", method="distill", prompts=prompts, out=tmp_path / "a.jsonl"
        )
    with pytest.raises(ConfigError, match="--model"):
        CritiqueOptions(constitution="helpful", prompts=prompts, out=tmp_path / "b.jsonl")


def test_steering_with_empty_texts_adds_nothing() -> None:
    constitution = load_constitution("helpful")
    principle = constitution.resolved_principles[0]
    prompt = [{"role": "user", "content": "How do I bleed a radiator?"}]
    positive, opening = steered_conversation(prompt, principle, constitution.contrast, "positive")
    negative, refusal = steered_conversation(prompt, principle, constitution.contrast, "negative")
    assert positive == prompt and opening == ""
    assert negative == [*prompt, {"role": "assistant", "content": refusal}]
    assert refusal.startswith("I'm sorry")


def test_trimmed_to_sentence_keeps_the_opening_and_whole_sentences() -> None:
    assert trimmed_to_sentence("One. Two three") == "One."
    assert trimmed_to_sentence('He said "stop." Then he') == 'He said "stop."'
    assert trimmed_to_sentence("No sentence end here") == "No sentence end here"
    # A sentence end inside the prefilled opening does not count: the text stays whole.
    assert trimmed_to_sentence("I can't. and then", keep=9) == "I can't. and then"

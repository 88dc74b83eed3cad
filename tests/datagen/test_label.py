"""run_labelling: the three strategies, side files, manifests and in-process resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_helpers import (
    SAFE,
    UNSAFE,
    block,
    content_judge,
    judge_prompt,
    under_request_check,
    with_request_check,
)

from rlaif.data import load_preferences
from rlaif.data.manifest import SettingsMismatchError, read_manifest
from rlaif.datagen import LabelOptions, run_labelling
from rlaif.errors import ConfigError
from rlaif.models import get_model


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _prompt(i: int, category: str = "harassment") -> dict:
    return {
        "id": f"q{i}",
        "prompt": [{"role": "user", "content": f"Request {i}"}],
        "category": category,
    }


def _pairs(tmp_path: Path) -> Path:
    prompt = [{"role": "user", "content": "How do I get back at my neighbour?"}]
    return _write(
        tmp_path / "pairs.jsonl",
        [
            {"id": "safe-first", "prompt": prompt, "response_1": SAFE, "response_2": UNSAFE},
            {"id": "unsafe-first", "prompt": prompt, "response_1": UNSAFE, "response_2": SAFE},
            {"id": "same", "prompt": prompt, "response_1": SAFE, "response_2": SAFE + " "},
            {"id": "tie", "prompt": prompt, "response_1": "Maybe.", "response_2": "Perhaps."},
        ],
    )


def test_judge_strategy_on_pairs_writes_labels_side_files_and_manifest(tmp_path: Path) -> None:
    # The request check answers "as likely safe as not": both sides of cai-harmless are asked.
    judge = get_model("fake/judge", choice_probs=with_request_check(content_judge()))
    out = tmp_path / "prefs.jsonl"
    options = LabelOptions(
        constitution="cai-harmless",
        judge="fake/judge",
        pairs=_pairs(tmp_path),
        out=out,
        mode="logprob",
        progress=False,
    )
    summary = run_labelling(options, judge_model=judge)
    records = _lines(out)
    assert [r["id"] for r in records] == ["safe-first", "unsafe-first"]
    for record in records:
        assert record["chosen"] == [{"role": "assistant", "content": SAFE}]
        assert record["rejected"] == [{"role": "assistant", "content": UNSAFE}]
        assert record["p_chosen"] == pytest.approx(under_request_check(0.8))
        assert record["margin"] == pytest.approx(2 * under_request_check(0.8) - 1)
        assert record["consistent"] is True and record["strategy"] == "judge"
        assert record["judge"] == "fake/judge"
        assert len(record["principles"]) == 1  # the likelier side's
    skipped = {r["id"]: r["reason"] for r in _lines(tmp_path / "prefs.skipped.jsonl")}
    assert skipped["same"].startswith("identical")
    assert skipped["tie"].startswith("tie: margin 0.000")
    judgments = _lines(tmp_path / "prefs.judgments.jsonl")
    assert [j["pair_id"] for j in judgments] == ["safe-first", "unsafe-first", "tie"]
    votes = 1 + 2  # the request check, then both orders under the likelier side's principle
    assert all(len(j["votes"]) == votes for j in judgments)
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest.counts == {
        "records": 2,
        "skipped": 2,
        "skipped: identical": 1,
        "skipped: tie": 1,
    }
    assert manifest.constitution and manifest.constitution["name"] == "cai-harmless"
    assert set(manifest.constitution["templates"]) == {
        "critique",
        "revision",
        "compare",
        "compare_cot",
        "score",
    }
    assert manifest.judge == "fake/judge" and "trl" in manifest.packages
    assert manifest.settings["mode"] == "logprob" and manifest.settings["tie_margin"] == 0.05
    # How the judge labelled, as the job's start line says it.
    plan = manifest.judge_plan or {}
    assert (plan["mode"], plan["why"], plan["orders"]) == ("logprob", "chosen", "both")
    assert plan["request_check"] and plan["constitution"] == "cai-harmless"
    assert summary.consistency_rate == 1.0 and summary.calls == 3 * votes
    dataset = load_preferences(out)
    assert dataset.column_names[:3] == ["prompt", "chosen", "rejected"]

    # Rerun with the same settings: nothing is asked again, nothing is written twice.
    again = run_labelling(options, judge_model=judge)
    assert again.already_done == 4 and again.calls == 0
    assert len(judge.backend.calls) == 3 * votes
    assert _lines(out) == records
    # Another setting into the same file is refused, naming the difference.
    with pytest.raises(SettingsMismatchError, match="tie_margin"):
        run_labelling(options.model_copy(update={"tie_margin": 0.2}), judge_model=judge)


def test_missing_verdicts_go_to_the_side_file_with_the_reason(tmp_path: Path) -> None:
    judge = get_model("fake/refuser", outputs=["I'm sorry, I can't help with that."])
    out = tmp_path / "prefs.jsonl"
    options = LabelOptions(
        constitution="minimal",
        judge="fake/refuser",
        pairs=_pairs(tmp_path),
        out=out,
        mode="generate",
        progress=False,
    )
    run_labelling(options, judge_model=judge)
    assert out.read_text() == ""
    skipped = _lines(tmp_path / "prefs.skipped.jsonl")
    reasons = [r["reason"] for r in skipped if r["id"] != "same"]
    assert len(reasons) == 3
    assert all(r.startswith("missing verdict:") and "judge refused" in r for r in reasons)
    assert all(r["p_response_1"] is None for r in skipped)


def test_candidates_are_paired_all_for_small_k_and_a_subset_for_large_k(tmp_path: Path) -> None:
    prompt = [{"role": "user", "content": "Hi"}]
    candidates = _write(
        tmp_path / "cand.jsonl",
        [
            {"id": "k3", "prompt": prompt, "responses": ["a", "b", "c"], "model": "fake/p"},
            {"id": "k6", "prompt": prompt, "responses": list("uvwxyz"), "model": "fake/p"},
        ],
    )
    out = tmp_path / "prefs.jsonl"
    options = LabelOptions(
        constitution="minimal",
        judge="fake/prefer-first",
        candidates=candidates,
        out=out,
        max_pairs_per_prompt=4,
        tie_margin=0.0,
        progress=False,
    )
    run_labelling(options, judge_model=get_model("fake/prefer-first"))
    # A judge that only ever prefers the first position gives p = 0.5 once both orders are
    # averaged: a tie even at tie_margin 0, never a side.
    assert out.read_text() == ""
    skipped = _lines(tmp_path / "prefs.skipped.jsonl")
    assert all(s["reason"].startswith("tie: margin 0.000") for s in skipped)
    ids = [s["id"] for s in skipped]
    assert sorted(i for i in ids if i.startswith("k3")) == ["k3/0-1", "k3/0-2", "k3/1-2"]
    assert len([i for i in ids if i.startswith("k6/")]) == 4


def test_judge_strategy_samples_from_the_policy(tmp_path: Path) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", [_prompt(1), _prompt(2)])
    policy = get_model("fake/policy", outputs=[SAFE, UNSAFE, "Something else."])
    out = tmp_path / "prefs.jsonl"
    options = LabelOptions(
        constitution="minimal",
        judge="fake/judge",
        prompts=str(prompts),
        policy="fake/policy",
        out=out,
        tie_margin=0.0,
        progress=False,
    )
    run_labelling(
        options,
        judge_model=get_model("fake/judge", choice_probs=content_judge()),
        policy_model=policy,
    )
    seeds = [c.config.seed for c in policy.backend.calls if c.config is not None]
    assert len(seeds) == 4 and len(set(seeds)) == 4  # every sample has its own seed
    records = _lines(out) + _lines(tmp_path / "prefs.skipped.jsonl")
    assert sorted(r["id"] for r in records) == ["q1/0-1", "q2/0-1"]


def test_revision_strategy_prefers_the_revision_and_can_be_confirmed(tmp_path: Path) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", [_prompt(1), _prompt(2)])

    def critic(conversation: list[dict[str, str]], config: object) -> str:
        request = conversation[-1]["content"]
        if "Critique request:" in request:
            return "It encourages vandalism."
        if "Request 2" in request:  # this revision changes nothing
            return UNSAFE
        return SAFE

    def confirming(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        p_a = 0.9 if "rather not" in block(judge_prompt(conversation), "A") else 0.1
        return {choices[0]: p_a, choices[1]: 1 - p_a}

    model = get_model("fake/critic", outputs=critic, choice_probs=confirming)
    policy = get_model("fake/policy", outputs=[UNSAFE])
    out = tmp_path / "prefs.jsonl"
    options = LabelOptions(
        constitution="minimal",
        judge="fake/critic",
        prompts=str(prompts),
        policy="fake/policy",
        strategy="revision",
        out=out,
        progress=False,
    )
    run_labelling(options, judge_model=model, policy_model=policy)
    (record,) = _lines(out)
    assert record["id"] == "q1" and record["chosen"][0]["content"] == SAFE
    assert record["rejected"][0]["content"] == UNSAFE
    assert record["p_chosen"] == 1.0 and record["judge"] == "construction"
    assert record["principles"] == ["overall-harm"]
    assert record["metadata"]["critiques"] == ["It encourages vandalism."]
    (skipped,) = _lines(tmp_path / "prefs.skipped.jsonl")
    assert skipped["id"] == "q2" and skipped["reason"].startswith("identical")

    confirmed = tmp_path / "confirmed.jsonl"
    summary = run_labelling(
        options.model_copy(update={"out": confirmed, "confirm": True, "mode": "logprob"}),
        judge_model=model,
        policy_model=policy,
    )
    assert summary.confirmation_rate == 1.0
    (record,) = _lines(confirmed)
    assert record["p_chosen"] == pytest.approx(0.9) and record["judge"] == "fake/critic"
    assert record["consistent"] is True


def test_revision_strategy_reads_an_sft_file(tmp_path: Path) -> None:
    prompt = [{"role": "user", "content": "Hi"}]
    sft = _write(
        tmp_path / "sft.jsonl",
        [
            {
                "messages": [*prompt, {"role": "assistant", "content": "Better."}],
                "initial": "Worse.",
                "critiques": ["c"],
                "revisions": ["Better."],
                "principles": ["overall-harm"],
                "id": "s1",
            }
        ],
    )
    out = tmp_path / "prefs.jsonl"
    options = LabelOptions(
        constitution="minimal",
        judge="fake/unused",
        sft=sft,
        out=out,
        strategy="revision",
        progress=False,
    )
    run_labelling(options)
    (record,) = _lines(out)
    assert record["chosen"][0]["content"] == "Better." and record["prompt"] == prompt


def test_contrastive_strategy_steers_with_system_prompt_and_prefill(tmp_path: Path) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", [_prompt(1, "harassment"), _prompt(2, "x")])

    def policy_output(conversation: list[dict[str, str]], config: object) -> str:
        return " it kindly." if "sorry" in conversation[-1]["content"] else " it harshly."

    policy = get_model("fake/policy", outputs=policy_output)
    out = tmp_path / "prefs.jsonl"
    options = LabelOptions(
        constitution="cai-harmless",
        judge="fake/unused",
        prompts=str(prompts),
        policy="fake/policy",
        strategy="contrastive",
        affix_form="both",  # the constitution steers with prefills only; add its system prompts
        out=out,
        progress=False,
    )
    run_labelling(options, policy_model=policy)
    records = _lines(out)
    assert [r["id"] for r in records] == ["q1", "q2"]
    first = records[0]
    # The category names a principle of the constitution, so that principle steers the pair.
    assert first["principles"] == ["harassment"]
    # The constitution's contrast: a refusal opening against a compliant one.
    assert first["chosen"][0]["content"].startswith("I'm sorry, but I can't help with that.")
    assert first["rejected"][0]["content"].startswith("Sure, here is exactly what you asked for")
    assert first["chosen"][0]["content"].endswith("it kindly.")
    assert first["rejected"][0]["content"].endswith("it harshly.")
    assert first["p_chosen"] == 1.0 and first["strategy"] == "contrastive"
    positive, negative = policy.backend.calls[:2]
    assert positive.conversation[0]["role"] == "system"
    assert "follow this principle: Harassment" in positive.conversation[0]["content"]
    assert "disregards this principle: Harassment" in negative.conversation[0]["content"]
    assert negative.conversation[-1]["role"] == "assistant"
    # Without the override, the constitution's own form (prefill) leaves out the system prompts.
    plain = tmp_path / "plain.jsonl"
    steered_calls = len(policy.backend.calls)
    run_labelling(
        options.model_copy(update={"out": plain, "affix_form": None}), policy_model=policy
    )
    assert all(c.conversation[0]["role"] == "user" for c in policy.backend.calls[steered_calls:])
    assert _lines(plain)[0]["chosen"] == first["chosen"]

    # Confirmation by a judge that prefers whatever is shown second: no order agrees with the
    # construction strongly enough, so the pairs are skipped, not flipped.
    confirmed = tmp_path / "confirmed.jsonl"
    run_labelling(
        options.model_copy(update={"out": confirmed, "confirm": True, "mode": "logprob"}),
        judge_model=get_model("fake/prefer-second"),
        policy_model=policy,
    )
    assert confirmed.read_text() == ""
    skipped = _lines(tmp_path / "confirmed.skipped.jsonl")
    assert all(s["reason"].startswith("not confirmed") for s in skipped)

    # Audit: the same judge is asked, every pair keeps the construction's label, and the judge's
    # verdict sits beside it; its agreement with the construction is measured (none here).
    audited = tmp_path / "audited.jsonl"
    summary = run_labelling(
        options.model_copy(update={"out": audited, "confirm": True, "confirm_mode": "audit"}),
        judge_model=get_model("fake/prefer-second"),
        policy_model=policy,
    )
    records = _lines(audited)
    assert len(records) == len(skipped) and records
    for record in records:
        assert record["p_chosen"] == 1.0 and record["judge"] == "construction"
        assert record["metadata"]["audit"] is True
        assert record["metadata"]["confirmation"]["p_response_1"] == pytest.approx(0.5)
    assert len(_lines(tmp_path / "audited.judgments.jsonl")) == len(records)
    assert summary.confirmation_rate == 0.0


def test_bad_input_combinations_are_explained(tmp_path: Path) -> None:
    base = {"constitution": "minimal", "judge": "fake/j", "out": tmp_path / "o.jsonl"}
    with pytest.raises(ConfigError, match="exactly one input"):
        run_labelling(LabelOptions(**base))
    with pytest.raises(ConfigError, match="needs --policy"):
        run_labelling(LabelOptions(**base, prompts="benign"))
    with pytest.raises(ConfigError, match="contrastive"):
        run_labelling(LabelOptions(**base, pairs=tmp_path / "p.jsonl", strategy="contrastive"))


def test_parquet_copy_loads_with_the_same_rows(tmp_path: Path) -> None:
    out = tmp_path / "prefs.parquet"
    options = LabelOptions(
        constitution="minimal",
        judge="fake/judge",
        pairs=_pairs(tmp_path),
        out=out,
        mode="logprob",
        progress=False,
    )
    summary = run_labelling(
        options, judge_model=get_model("fake/judge", choice_probs=content_judge())
    )
    assert summary.parquet == out and summary.out == tmp_path / "prefs.jsonl"
    from_parquet = load_preferences(out)
    from_jsonl = load_preferences(summary.out)
    assert from_parquet.to_list() == from_jsonl.to_list()
    assert from_parquet[0]["metadata"]["p_by_order"]["12"] == pytest.approx(0.8)

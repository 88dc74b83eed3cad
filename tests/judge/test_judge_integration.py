"""The critic and all three strategies end to end on the embedded SmolLM2-135M model.

SmolLM2-135M is a policy, not a judge (it tends to answer "B" whatever the order), so these tests
check what must hold for any model: complete, traceable records, soft probabilities in both
orders, verdicts that are parsed or missing with a reason, and datasets that load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlaif.constitution import Constitution
from rlaif.data import load_preferences, load_prompts
from rlaif.datagen import LabelOptions, run_labelling
from rlaif.judge import Critic, PairwiseJudge
from rlaif.judge.sampling import ContrastiveAffixes, SamplingSettings
from rlaif.models import Model

pytestmark = pytest.mark.integration
EMBEDDED = "hf/smollm2-135m-instruct"
FEW_TOKENS = SamplingSettings(n=2, temperature=0.8, max_tokens=8, seed=0)


@pytest.fixture(scope="module")
def smollm2() -> Iterator[Model]:
    """The embedded SmolLM2 model; skips when the hf backend or the model is unavailable.

    Runs torch on one thread meanwhile: on a busy two-core machine a second thread makes a
    forward pass many times slower (measured: 0.26 s with one thread, 3.4 s with two)."""
    import torch

    from rlaif.models import GenerateConfig, get_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = get_model(EMBEDDED)
        model.generate_sync([{"role": "user", "content": "Hi"}], GenerateConfig(max_tokens=1))
    except Exception as error:  # any reason the model cannot run here is a reason to skip
        torch.set_num_threads(threads)
        pytest.skip(f"{EMBEDDED} cannot be loaded here: {type(error).__name__}: {error}")
    yield model
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two short red-team prompts from the built-in training set."""
    chosen = [p for p in load_prompts("red_team_train") if len(p.prompt) == 1][:2]
    path = tmp_path_factory.mktemp("prompts") / "prompts.jsonl"
    path.write_text("".join(p.model_dump_json() + "\n" for p in chosen), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_critic_revises_with_the_embedded_model(smollm2: Model, minimal: Constitution) -> None:
    prompt = [{"role": "user", "content": "How do I pick the lock on my neighbour's door?"}]
    critic = Critic(smollm2, minimal, rounds=1, max_tokens=12)
    record = critic.run_sync(prompt, "Use a tension wrench and rake the pins.", prompt_id="lock")
    assert record.id == "lock" and len(record.critiques) == len(record.revisions) == 1
    assert record.critiques[0].strip()
    status = record.metadata["rounds"][0]["revision"]
    assert status in ("ok", "truncated", "empty", "unchanged")
    final = record.revisions[0] if status in ("ok", "truncated") else record.initial
    assert record.messages == [*prompt, {"role": "assistant", "content": final}]


def test_logprob_judgments_are_soft_and_swap_exactly(smollm2: Model, minimal: Constitution) -> None:
    judge = PairwiseJudge(smollm2, minimal, mode="logprob")
    prompt = [{"role": "user", "content": "How do I get back at my neighbour?"}]
    safe, unsafe = "Try talking to them calmly.", "Slash their tyres at night."
    forward = judge.compare_sync(prompt, safe, unsafe)
    backward = judge.compare_sync(prompt, unsafe, safe)
    assert forward.p_response_1 is not None and 0.0 < forward.p_response_1 < 1.0
    assert all(0.0 < (p or 0.0) < 1.0 for p in forward.p_by_order.values())
    assert backward.p_response_1 == pytest.approx(1.0 - forward.p_response_1, abs=1e-6)


def test_generate_mode_parses_or_reports_missing(smollm2: Model, minimal: Constitution) -> None:
    judge = PairwiseJudge(smollm2, minimal, mode="generate", max_verdict_tokens=4)
    judgment = judge.compare_sync(
        [{"role": "user", "content": "Is it safe to mix bleach and ammonia?"}],
        "No. Mixing them releases toxic chloramine gas.",
        "Yes, it cleans better.",
    )
    for vote in judgment.votes:
        assert (vote.p_response_1 in (0.0, 1.0) and vote.error is None) or (
            vote.p_response_1 is None and vote.error
        )


def test_judge_strategy_end_to_end(smollm2: Model, prompts: Path, tmp_path: Path) -> None:
    out = tmp_path / "judged.jsonl"
    options = LabelOptions(
        constitution="minimal",
        judge=EMBEDDED,
        policy=EMBEDDED,
        prompts=str(prompts),
        out=out,
        strategy="judge",
        mode="logprob",
        sampling=FEW_TOKENS,
        progress=False,
    )
    summary = run_labelling(options, judge_model=smollm2, policy_model=smollm2)
    written = _lines(out) + _lines(tmp_path / "judged.skipped.jsonl")
    assert sorted(r["id"] for r in written) == sorted(f"{p['id']}/0-1" for p in _lines(prompts))
    for judgment in _lines(tmp_path / "judged.judgments.jsonl"):
        assert judgment["orders"] == ["12", "21"]
        assert all(math.isfinite(v["p_response_1"]) for v in judgment["votes"])
    if summary.counts["records"]:
        dataset = load_preferences(out)
        assert all(0.5 < p <= 1.0 for p in dataset["p_chosen"])


def test_revision_strategy_end_to_end(smollm2: Model, prompts: Path, tmp_path: Path) -> None:
    out = tmp_path / "revised.jsonl"
    options = LabelOptions(
        constitution="minimal",
        judge=EMBEDDED,
        policy=EMBEDDED,
        prompts=str(prompts),
        out=out,
        strategy="revision",
        rounds=1,
        critic_max_tokens=12,
        sampling=FEW_TOKENS.model_copy(update={"n": 1}),
        progress=False,
    )
    run_labelling(options, judge_model=smollm2, policy_model=smollm2)
    written = _lines(out) + _lines(tmp_path / "revised.skipped.jsonl")
    assert len(written) == 2
    for record in _lines(out):
        assert record["strategy"] == "revision" and record["judge"] == "construction"
        assert record["chosen"] != record["rejected"]
        assert len(record["metadata"]["critiques"]) == 1


def test_contrastive_strategy_end_to_end(smollm2: Model, prompts: Path, tmp_path: Path) -> None:
    out = tmp_path / "contrast.jsonl"
    options = LabelOptions(
        constitution="cai-harmless",
        judge=EMBEDDED,
        policy=EMBEDDED,
        prompts=str(prompts),
        out=out,
        strategy="contrastive",
        affixes=ContrastiveAffixes(form="prefill"),
        sampling=FEW_TOKENS,
        progress=False,
    )
    run_labelling(options, judge_model=smollm2, policy_model=smollm2)
    records = _lines(out)
    assert len(records) + len(_lines(tmp_path / "contrast.skipped.jsonl")) == 2
    for record in records:
        assert record["principles"] == ["violence-and-weapons"]
        assert record["chosen"][0]["content"].startswith("I want to answer this carefully")
        assert record["rejected"][0]["content"].startswith("Sure, here is exactly")
    assert load_preferences(out).num_rows == len(records)

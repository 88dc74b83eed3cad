"""PairwiseJudge: debiased soft labels, and missing verdicts that are never guessed."""

from __future__ import annotations

import asyncio
import math
import shutil
import time
from pathlib import Path

import pytest
from judge_helpers import (
    PROMPT,
    SAFE,
    UNSAFE,
    block,
    content_judge,
    judge_prompt,
    without_request_check,
)

from rlaif.constitution import Constitution, load_constitution
from rlaif.errors import ConfigError
from rlaif.judge import PairwiseJudge
from rlaif.models import BackendError, get_model

REPO = Path(__file__).resolve().parents[2]


def _cot_output(conversation: list[dict[str, str]], config: object) -> str:
    text = judge_prompt(conversation)
    letter = "A" if "rather not" in block(text, "A") else "B"
    other = "B" if letter == "A" else "A"
    return f"Response {other} says 'Verdict: {other}' but it is worse.\nVerdict: {letter}"


@pytest.mark.parametrize("mode", ["logprob", "generate", "cot"])
def test_swapping_the_responses_gives_exactly_the_complement(cai: Constitution, mode: str) -> None:
    def generated(conversation: list[dict[str, str]], config: object) -> str:
        return "A" if "rather not" in block(judge_prompt(conversation), "A") else "B"

    outputs = {"generate": generated, "cot": _cot_output}.get(mode, generated)
    model = get_model("fake/content", outputs=outputs, choice_probs=content_judge(first_bias=0.15))
    judge = PairwiseJudge(model, cai, mode=mode)  # type: ignore[arg-type]
    forward = judge.compare_sync(PROMPT, SAFE, UNSAFE, pair_id="p")
    backward = judge.compare_sync(PROMPT, UNSAFE, SAFE, pair_id="p")
    assert forward.p_response_1 is not None and backward.p_response_1 is not None
    assert forward.p_response_1 > 0.5
    assert backward.p_response_1 == pytest.approx(1.0 - forward.p_response_1, abs=1e-12)
    assert backward.p_by_order["12"] == pytest.approx(1.0 - forward.p_by_order["21"], abs=1e-12)
    assert forward.principles == backward.principles and len(forward.principles) == 2
    assert forward.orders == ["12", "21"] and len(forward.votes) == 4
    assert forward.consistent is True


def test_position_bias_is_averaged_out_and_flagged(cai: Constitution) -> None:
    # A judge that favours whatever is shown first more than it favours the safer content.
    model = get_model("fake/biased", choice_probs=content_judge(first_bias=0.2, strength=0.1))
    judgment = PairwiseJudge(model, cai).compare_sync(PROMPT, UNSAFE, SAFE)
    assert judgment.p_by_order == pytest.approx({"12": 0.6, "21": 0.2})
    assert judgment.consistent is False
    assert judgment.p_response_1 == pytest.approx(0.4)  # the bias cancels: the safe one wins


def test_logprob_probability_is_the_normalised_choice_probability(minimal: Constitution) -> None:
    model = get_model("fake/soft", choice_probs={"A": 0.3, "B": 0.1})
    judgment = PairwiseJudge(model, minimal).compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_by_order == pytest.approx({"12": 0.75, "21": 0.25})
    assert judgment.p_response_1 == pytest.approx(0.5)
    assert all(call.choices == ("A", "B") for call in model.backend.calls)


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("Both responses have merits; it depends on context.", "unparseable verdict"),
        ("I'm sorry, but I can't help with evaluating this content.", "judge refused"),
        ("Answer: A\nAnswer: B", "ambiguous verdict"),
        ("", "empty judge output"),
    ],
)
def test_unreadable_verdicts_are_missing_with_a_reason(
    minimal: Constitution, output: str, reason: str
) -> None:
    model = get_model("fake/unreadable", outputs=[output])
    judgment = PairwiseJudge(model, minimal, mode="generate").compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_response_1 is None and judgment.missing
    assert judgment.consistent is None
    assert reason in (judgment.error or "")
    assert all(v.p_response_1 is None and reason in (v.error or "") for v in judgment.votes)


def test_one_failed_order_makes_the_label_missing(minimal: Constitution) -> None:
    model = get_model(
        "fake/flaky", choice_probs={"A": 0.9, "B": 0.1}, fail=[BackendError("rate limited")]
    )
    judgment = PairwiseJudge(model, minimal).compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_response_1 is None
    assert "backend error" in (judgment.error or "") and "rate limited" in (judgment.error or "")
    assert sorted(v.p_response_1 is None for v in judgment.votes) == [False, True]


def test_unusable_probabilities_are_missing(minimal: Constitution) -> None:
    model = get_model("fake/nan", choice_probs=lambda c, ch: {x: float("nan") for x in ch})
    judgment = PairwiseJudge(model, minimal).compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.missing and "no usable probabilities" in (judgment.error or "")


def test_cot_reads_the_last_verdict_line_and_clamps_to_the_band(minimal: Constitution) -> None:
    model = get_model(
        "fake/cot", outputs=_cot_output, choice_probs={" A": 0.99, " B": 0.01, "A": 0.5}
    )
    judgment = PairwiseJudge(model, minimal, mode="cot").compare_sync(PROMPT, SAFE, UNSAFE)
    # Soft probability read after the reasoning (0.99 for the first shown), clamped to 0.4-0.6.
    assert judgment.p_by_order == pytest.approx({"12": 0.6, "21": 0.4})
    scored = [c for c in model.backend.calls if c.kind == "choice_logprobs"]
    assert scored and scored[0].conversation[-1]["role"] == "assistant"
    assert scored[0].conversation[-1]["content"].endswith("Verdict:")
    assert "Verdict: B" in scored[0].conversation[-1]["content"]  # the quoted, earlier line


def test_cot_without_logprobs_uses_the_parsed_verdict_clamped(minimal: Constitution) -> None:
    model = get_model("fake/cot-text", outputs=_cot_output)
    model.backend.supports_choice_logprobs = False  # type: ignore[misc]
    judge = PairwiseJudge(model, minimal, mode="cot", cot_band=(0.3, 0.7))
    judgment = judge.compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_by_order == pytest.approx({"12": 0.7, "21": 0.7})
    assert judgment.p_response_1 == pytest.approx(0.7)


def test_cot_without_a_verdict_line_is_missing(minimal: Constitution) -> None:
    model = get_model("fake/rambling", outputs=["Response A is better, I think."])
    judgment = PairwiseJudge(model, minimal, mode="cot").compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.missing and "no final 'Verdict" in (judgment.error or "")


def test_auto_mode_and_capability_errors(minimal: Constitution) -> None:
    assert PairwiseJudge(get_model("fake/a"), minimal).mode.name == "logprob"
    text_only = get_model("fake/b", outputs=["A"])
    text_only.backend.supports_choice_logprobs = False  # type: ignore[misc]
    assert PairwiseJudge(text_only, minimal).mode.name == "generate"
    with pytest.raises(ConfigError, match="cannot score choices"):
        PairwiseJudge(text_only, minimal, mode="logprob")
    with pytest.raises(ConfigError, match="principles_per_pair"):
        PairwiseJudge(get_model("fake/c"), minimal, principles_per_pair=5)
    with pytest.raises(ConfigError, match="cot_band"):
        PairwiseJudge(get_model("fake/d"), minimal, cot_band=(0.6, 0.9))


def test_single_order_judges_once_and_records_the_order(cai: Constitution) -> None:
    model = get_model("fake/one", choice_probs=content_judge())
    judgment = PairwiseJudge(model, cai, both_orders=False).compare_sync(PROMPT, SAFE, UNSAFE)
    assert len(judgment.orders) == 1 and list(judgment.p_by_order) == judgment.orders
    assert judgment.consistent is None
    assert len(model.backend.calls) == 2  # two principles, one order
    assert judgment.p_response_1 == pytest.approx(0.8)


def test_principle_ensemble_samples_distinct_principles_per_pair(cai: Constitution) -> None:
    model = get_model("fake/ens", choice_probs=content_judge())
    judge = PairwiseJudge(model, cai, principles_per_pair=3, seed=7)
    judgment = judge.compare_sync(PROMPT, SAFE, UNSAFE)
    assert len(set(judgment.principles)) == 3
    assert sorted({v.principle for v in judgment.votes}) == sorted(judgment.principles)
    questions = {judge_prompt(c.conversation).splitlines()[0] for c in model.backend.calls}
    assert len(questions) == 3  # each principle's own question was asked


def test_generate_mode_asks_for_json_where_supported(minimal: Constitution) -> None:
    model = get_model("fake/json", outputs=['{"verdict": "B"}'])
    judgment = PairwiseJudge(model, minimal, mode="generate").compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_by_order == {"12": 0.0, "21": 1.0}
    config = model.backend.calls[0].config
    assert config is not None and config.json_schema is not None
    assert config.temperature == 0.0


def test_huge_responses_are_shortened_and_noted(minimal: Constitution) -> None:
    model = get_model("fake/long", choice_probs={"A": 0.5, "B": 0.5})
    judge = PairwiseJudge(model, minimal, max_response_chars=100)
    judgment = judge.compare_sync(PROMPT, "x" * 5000, "")
    assert judgment.p_response_1 == pytest.approx(0.5)
    assert judgment.notes and "4900 of 5000" in judgment.notes[0]
    shown = judge_prompt(model.backend.calls[0].conversation)
    assert len(shown) < 3000 and "more characters not shown" in shown


def test_compare_many_keeps_input_order_and_bounds_concurrency(minimal: Constitution) -> None:
    from rlaif.data.records import PairRecord

    model = get_model("fake/slow", choice_probs=content_judge(), latency_s=0.05)
    judge = PairwiseJudge(model, minimal)
    pairs = [
        PairRecord(
            id=f"p{i}",
            prompt=PROMPT,
            response_1=SAFE if i % 2 else UNSAFE,
            response_2=UNSAFE if i % 2 else SAFE,
        )
        for i in range(8)
    ]
    seen: list[int] = []
    start = time.perf_counter()
    results = asyncio.run(
        judge.compare_many(
            pairs, concurrency=2, progress=False, on_result=lambda i, j: seen.append(i)
        )
    )
    elapsed = time.perf_counter() - start
    assert [r.pair_id for r in results] == [p.id for p in pairs]
    assert [r.p_response_1 > 0.5 for r in results] == [bool(i % 2) for i in range(8)]  # type: ignore[operator]
    assert sorted(seen) == list(range(8))
    # 16 calls of 0.05 s: two pairs (four calls) at a time take 0.2 s; one at a time, 0.8 s.
    assert 0.19 <= elapsed < 0.6


def test_logprob_verdicts_are_read_after_the_prefilled_answer_opening(cai: Constitution) -> None:
    model = get_model("fake/prefilled", choice_probs=content_judge())
    judgment = PairwiseJudge(model, cai, principles_per_pair=1).compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_response_1 == pytest.approx(0.8)
    for call in model.backend.calls:
        assert call.conversation[-1] == {"role": "assistant", "content": "The answer is ("}
        assert call.choices == ("A", "B")


def test_generate_mode_reads_the_letter_that_continues_the_prefill(cai: Constitution) -> None:
    def continuation(conversation: list[dict[str, str]], config: object) -> str:
        assert conversation[-1]["content"] == "The answer is ("
        return (
            "A) since it declines."
            if "rather not" in block(judge_prompt(conversation), "A")
            else "B)"
        )

    model = get_model("fake/continues", outputs=continuation)
    model.backend.supports_json_schema = False  # as a server without structured output
    judge = PairwiseJudge(model, cai, mode="generate", principles_per_pair=1)
    judgment = judge.compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_by_order == {"12": 1.0, "21": 1.0} and judgment.consistent is True


def test_a_backend_that_cannot_prefill_gets_the_plain_request(cai: Constitution) -> None:
    model = get_model("fake/no-prefill", choice_probs=content_judge())
    model.backend.supports_prefill = False
    judgment = PairwiseJudge(model, cai, principles_per_pair=1).compare_sync(PROMPT, SAFE, UNSAFE)
    assert judgment.p_response_1 == pytest.approx(0.8)
    assert all(c.conversation[-1]["role"] == "user" for c in model.backend.calls)


def _harm_scorer(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
    """Pointwise: P(Yes, keeps to the principle) is 0.2 for the tyre-slashing reply."""
    request = judge_prompt(conversation)
    p_yes = 0.2 if "Slash" in request else 0.8
    yes, no = choices
    return {yes: p_yes, no: 1.0 - p_yes}


def test_pointwise_mode_scores_each_response_alone_with_no_position(cai: Constitution) -> None:
    model = get_model("fake/pointwise", choice_probs=_harm_scorer)
    judge = PairwiseJudge(model, cai, mode="pointwise", principles_per_pair=2)
    forward = judge.compare_sync(PROMPT, SAFE, UNSAFE, pair_id="p")
    backward = judge.compare_sync(PROMPT, UNSAFE, SAFE, pair_id="p")
    # s = log(P(Yes)/P(No)): +log 4 for the safe reply, -log 4 for the unsafe one.
    expected = 1.0 / (1.0 + math.exp(-2 * math.log(4.0)))
    assert forward.p_response_1 == pytest.approx(expected)
    assert backward.p_response_1 == pytest.approx(1.0 - expected)
    assert forward.mode == "pointwise" and forward.orders == [] and forward.consistent is None
    assert sorted((v.principle, v.response) for v in forward.votes) == sorted(
        (p, side) for p in forward.principles for side in ("1", "2")
    )
    for call in model.backend.calls:
        request = judge_prompt(call.conversation)
        assert (SAFE in request) != ("Slash his tyres" in request)  # one response per call
        assert call.conversation[-1] == {"role": "assistant", "content": "Answer:"}
        assert call.choices == (" Yes", " No")


def test_pointwise_missing_score_makes_the_judgment_missing(cai: Constitution) -> None:
    def unusable(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        if "Slash" in judge_prompt(conversation):
            return {choices[0]: math.nan, choices[1]: 0.5}  # no usable Yes/No probabilities
        return {choices[0]: 0.3, choices[1]: 0.7}

    model = get_model("fake/pointwise-bad", choice_probs=unusable)
    judgment = PairwiseJudge(model, cai, mode="pointwise", principles_per_pair=1).compare_sync(
        PROMPT, SAFE, UNSAFE
    )
    assert judgment.missing and "response 2" in (judgment.error or "")


def test_pointwise_needs_a_score_template_and_choice_scores(cai: Constitution) -> None:
    bare = cai.model_copy(update={"templates": cai.templates.model_copy(update={"score": None})})
    with pytest.raises(ConfigError, match="no 'score' template"):
        PairwiseJudge(get_model("fake/x"), bare, mode="pointwise")
    words = get_model("fake/words")
    words.backend.supports_choice_logprobs = False
    with pytest.raises(ConfigError, match="cannot score choices"):
        PairwiseJudge(words, cai, mode="pointwise")


def test_pointwise_sends_a_request_shared_by_several_principles_once(
    cai: Constitution, tmp_path: Path
) -> None:
    # A copy of cai-harmless whose score template asks one question whatever the principle.
    for folder in ("constitution", "principles"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    path = tmp_path / "constitution" / "cai-harmless.yaml"
    path.write_text(path.read_text().replace("templates/score_question.j2", "templates/score.j2"))
    one_question = without_request_check(load_constitution(path))
    model = get_model("fake/pointwise-shared", choice_probs=_harm_scorer)
    judge = PairwiseJudge(model, one_question, mode="pointwise", principles_per_pair=3)
    judgment = judge.compare_sync(PROMPT, SAFE, UNSAFE)
    # One question for three principles: 2 calls, not 6.
    assert len(model.backend.calls) == 2 and len(judgment.votes) == 6
    assert len({v.principle for v in judgment.votes}) == 3
    assert sum(v.input_tokens > 0 for v in judgment.votes) <= 2


def test_auto_is_the_constitutions_mode_for_a_local_judge() -> None:
    scorer = get_model("fake/auto", choice_probs=content_judge())
    assert PairwiseJudge(scorer, load_constitution("cai-harmless")).mode.name == "pointwise"
    assert PairwiseJudge(scorer, load_constitution("hhh")).mode.name == "pointwise"
    words = get_model("fake/auto-words")
    words.backend.supports_choice_logprobs = False
    assert PairwiseJudge(words, load_constitution("cai-harmless")).mode.name == "generate"

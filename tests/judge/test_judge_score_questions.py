"""Per-principle pointwise questions: a score template that reads ``question`` asks each sampled
principle's own ``score`` question (or its principle file's), so a constitution that mixes
themes (``hhh``, with ``--mode pointwise``) does not ask a harmlessness question of a
helpfulness principle."""

from __future__ import annotations

from pathlib import Path

import pytest
from judge_helpers import judge_prompt

from rlaif.constitution import load_constitution
from rlaif.judge import PairwiseJudge
from rlaif.models import get_model

HELPFUL_Q = "Does the assistant's final reply do what the user asked?"
HARMLESS_Q = "Does the assistant's final reply refuse or avoid helping with a harmful request?"
HONEST_Q = "Is the assistant's final reply honest and accurate?"

PROMPT = [{"role": "user", "content": "How do I reverse a list in Python?"}]
ANSWER = "Use my_list.reverse() to reverse it in place, or my_list[::-1] for a reversed copy."
DODGE = "I'm sorry, but I can't help with that."


def _questions_scorer(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
    """P(Yes): the helpfulness question favours the answer, the refusal question the dodge, the
    honesty question has no preference."""
    request = judge_prompt(conversation)
    answered = ANSWER in request
    if HELPFUL_Q in request:
        p_yes = 0.9 if answered else 0.1
    elif HARMLESS_Q in request:
        p_yes = 0.4 if answered else 0.6
    else:
        p_yes = 0.5
    yes, no = choices
    return {yes: p_yes, no: 1.0 - p_yes}


def test_each_principle_is_scored_under_its_own_question() -> None:
    hhh = load_constitution("hhh")
    model = get_model("fake/score-questions", choice_probs=_questions_scorer)
    judge = PairwiseJudge(model, hhh, mode="pointwise", principles_per_pair=3)
    principles, _ = judge.plan(PROMPT, ANSWER, DODGE)
    judgment = judge.compare_sync(PROMPT, ANSWER, DODGE)
    asked = {p.id: p.score for p in principles}
    assert all(asked.values())
    # One request per distinct question and response, and each call asks exactly one question.
    assert len(model.backend.calls) == 2 * len(set(asked.values()))
    for call in model.backend.calls:
        request = judge_prompt(call.conversation)
        assert sum(q in request for q in (HELPFUL_Q, HARMLESS_Q, HONEST_Q)) == 1
    by_principle = {
        (vote.principle, vote.response): vote.score
        for vote in judgment.votes
        if vote.score is not None
    }
    for principle_id, question in asked.items():
        answer, dodge = by_principle[(principle_id, "1")], by_principle[(principle_id, "2")]
        if question == HELPFUL_Q:
            assert answer > dodge
        elif question == HARMLESS_Q:
            assert answer < dodge


def test_a_helpfulness_principle_prefers_the_answer_a_harmlessness_one_the_refusal() -> None:
    hhh = load_constitution("hhh")
    model = get_model("fake/score-questions-2", choice_probs=_questions_scorer)
    judge = PairwiseJudge(model, hhh, mode="pointwise", principles_per_pair=1)
    helpful = hhh.principle("addresses-the-request")
    harmless = hhh.principle("overall-harm")
    assert (helpful.score, harmless.score) == (HELPFUL_Q, HARMLESS_Q)
    assert hhh.principle("helpful-not-preachy").score not in (HELPFUL_Q, HARMLESS_Q)  # its own
    helpful_p = _p_under(judge, helpful)
    harmless_p = _p_under(judge, harmless)
    assert helpful_p > 0.9 and harmless_p < 0.5


def _p_under(judge: PairwiseJudge, principle) -> float:
    judge.plan = lambda *args, **kwargs: ([principle], [])  # type: ignore[method-assign]
    judgment = judge.compare_sync(PROMPT, ANSWER, DODGE)
    assert judgment.p_response_1 is not None
    return judgment.p_response_1


def _write_kinds(folder: Path, file_score: str, principles: str, score_template: str) -> None:
    """A principle file with a file-level ``score`` and a constitution over it."""
    (folder / "p.yaml").write_text(
        f"score: '{file_score}'\nprinciples:\n{principles}", encoding="utf-8"
    )
    (folder / "c.yaml").write_text(
        "name: kinds\n"
        "principles: {include: [p.yaml]}\n"
        "templates:\n"
        '  critique: "{{ response }} {{ request }}"\n'
        '  revision: "{{ response }} {{ critique }} {{ request }}"\n'
        '  compare: "{{ response_a }} {{ response_b }} {{ question }}"\n'
        '  compare_cot: "{{ response_a }} {{ response_b }} {{ question }} Verdict"\n'
        f'  score: "{{{{ conversation }}}} {{{{ response }}}} {score_template}"\n',
        encoding="utf-8",
    )


PRINCIPLE_A = "  - {id: a, title: A, description: d, critique: c, revision: r, compare: q}\n"


def test_a_principle_file_score_is_the_default_and_a_principle_may_override_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = (
        "  - {id: b, title: B, description: d, critique: c, revision: r, compare: q,"
        " score: 'Is the reply brief?'}\n"
    )
    _write_kinds(tmp_path, "Is the reply kind?", PRINCIPLE_A + own, "Q: {{ question }}")
    monkeypatch.chdir(tmp_path)
    kinds = load_constitution("c.yaml")
    assert kinds.principle("a").score == "Is the reply kind?"
    assert kinds.principle("b").score == "Is the reply brief?"
    rendered = kinds.messages("score", prompt=PROMPT, principle="b", response=ANSWER)
    assert rendered[-1]["content"].endswith("Q: Is the reply brief?")


def test_the_harmlessness_default_still_asks_one_question_whatever_the_principle() -> None:
    cai = load_constitution("cai-harmless")
    model = get_model("fake/score-questions-3", choice_probs=_questions_scorer)
    PairwiseJudge(model, cai, principles_per_pair=2).compare_sync(PROMPT, ANSWER, DODGE)
    assert len(model.backend.calls) == 2
    assert all(HARMLESS_Q in judge_prompt(c.conversation) for c in model.backend.calls)


@pytest.mark.parametrize(("score_template", "moves"), [("Q: {{ question }}", True), ("Q?", False)])
def test_a_score_question_moves_the_content_hash_only_where_a_template_asks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, score_template: str, moves: bool
) -> None:
    def hashed(question: str) -> str:
        _write_kinds(tmp_path, question, PRINCIPLE_A, score_template)
        return load_constitution("c.yaml").content_hash()

    monkeypatch.chdir(tmp_path)
    # Stage hashes and resume settings hold this hash: a question no prompt asks must not
    # rerun a pipeline.
    assert (hashed("Is it kind?") != hashed("Is it brief?")) is moves

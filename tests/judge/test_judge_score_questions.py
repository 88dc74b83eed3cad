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

PROMPT = [{"role": "user", "content": "How do I reverse a list in Python?"}]
ANSWER = "Use my_list.reverse() to reverse it in place, or my_list[::-1] for a reversed copy."
DODGE = "I'm sorry, but I can't help with that."
CHECK_Q = "Is this request safe for an assistant to answer fully?"


def _questions_scorer(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
    """P(Yes): the request is safe; a refuse-or-avoid question favours the dodge, every other
    principle question the answer."""
    request = judge_prompt(conversation)
    if CHECK_Q in request:
        p_yes = 0.9
    elif "refuse or avoid" in request.rsplit("\n", 1)[-1]:
        p_yes = 0.4 if ANSWER in request else 0.6
    else:
        p_yes = 0.9 if ANSWER in request else 0.1
    yes, no = choices
    return {yes: p_yes, no: 1.0 - p_yes}


@pytest.mark.parametrize("name", ["cai-harmless", "hhh", "helpful"])
def test_every_built_in_principle_asks_a_question_of_its_own(name: str) -> None:
    constitution = load_constitution(name)
    questions = [p.score for p in constitution.eligible("compare")]
    assert all(questions) and len(set(questions)) == len(questions)


def test_each_principle_is_scored_under_its_own_question() -> None:
    hhh = load_constitution("hhh")
    model = get_model("fake/score-questions", choice_probs=_questions_scorer)
    judge = PairwiseJudge(model, hhh, mode="pointwise", principles_per_pair=3)
    judgment = judge.compare_sync(PROMPT, ANSWER, DODGE)
    asked = {p: hhh.principle(p).score for p in judgment.principles}
    # The request check, then one request per principle and response, each asking exactly one
    # principle's question.
    assert len(model.backend.calls) == 1 + 2 * len(asked)
    for call in model.backend.calls[1:]:
        request = judge_prompt(call.conversation)
        assert sum(str(q) in request for q in asked.values()) == 1
    scores = {(v.principle, v.response): v.score for v in judgment.votes if v.score is not None}
    for principle_id, question in asked.items():
        answer, dodge = scores[(principle_id, "1")], scores[(principle_id, "2")]
        assert answer is not None and dodge is not None
        assert (answer < dodge) == ("refuse or avoid" in str(question))


def test_a_helpfulness_principle_prefers_the_answer_a_harmlessness_one_the_refusal() -> None:
    hhh = load_constitution("hhh")
    model = get_model("fake/score-questions-2", choice_probs=_questions_scorer)
    judge = PairwiseJudge(model, hhh, mode="pointwise", principles_per_pair=1)
    helpful_p = _p_under(judge, hhh.principle("addresses-the-request"))
    harmless_p = _p_under(judge, hhh.principle("overall-harm"))
    assert helpful_p > 0.9 and harmless_p < 0.5


def _p_under(judge: PairwiseJudge, principle) -> float:
    judge._draw = lambda *args, **kwargs: (None, [principle], [])  # type: ignore[method-assign]
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


def test_a_label_run_names_several_principles() -> None:
    """cai-harmless with the defaults: the requests carry principle-specific questions, and a
    handful of pairs already name more than one principle."""
    cai = load_constitution("cai-harmless")
    model = get_model("fake/score-questions-3", choice_probs=_questions_scorer)
    judge = PairwiseJudge(model, cai)
    asks = ("reverse a list", "sort a list", "copy a list", "join two lists", "count items")
    for ask in asks:  # the likelier side's principles only, drawn for each request
        prompt = [{"role": "user", "content": f"How do I {ask} in Python?"}]
        judge.compare_sync(prompt, ANSWER, DODGE)
    questions = {p.score for p in cai.eligible("compare")}
    asked = {
        q for c in model.backend.calls for q in questions if str(q) in judge_prompt(c.conversation)
    }
    assert len(asked) >= 2


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

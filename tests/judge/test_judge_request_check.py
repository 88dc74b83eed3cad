"""The request check: a harmful request is judged by the harmlessness principles, a harmless one
by the helpfulness principles, so a refusal wins only where refusing is right."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from judge_helpers import judge_prompt

from rlaif.constitution import Constitution, load_constitution
from rlaif.judge import Judgment, PairwiseJudge
from rlaif.judge.modes import auto_choice
from rlaif.judge.request_check import REQUEST_CHECK
from rlaif.models import get_model

CHECK_Q = "Is this request safe for an assistant to answer fully?"
HARM_Q = "Does the assistant's final reply refuse or avoid giving practical help with violence?"
HELP_Q = "Does the assistant's final reply do what the user asked?"

HARMFUL = [{"role": "user", "content": "How do I stab my neighbour without being caught?"}]
HARMLESS = [{"role": "user", "content": "How do I kill a stuck Python process?"}]
ANSWER = "Sure: find it with ps, then run kill PID."
REFUSAL = "I'm sorry, but I can't help with that."

PRINCIPLES = f"""
description: Test principles on both sides of a request check.
principles:
  - id: no-violence
    title: No violence
    description: Do not help anyone hurt people.
    critique: Does it help hurt people?
    revision: Remove any help with hurting people.
    compare: Which response gives less help with violence?
    score: "{HARM_Q}"
    tags: [harmlessness, general]
    when: harmful
  - id: do-what-was-asked
    title: Helpful
    description: Answer what was asked.
    critique: Does it answer?
    revision: Answer it.
    compare: Which response better does what the user asked?
    score: "{HELP_Q}"
    tags: [helpfulness, general]
    when: harmless
"""

CONSTITUTION = f"""
name: checked
version: "1"
stages: [preference]
principles:
  include: [sides.yaml]
sampling:
  per_example: 1
templates:
  critique: "{{{{ conversation }}}} {{{{ response }}}} {{{{ request }}}}"
  revision: "{{{{ conversation }}}} {{{{ response }}}} {{{{ critique }}}} {{{{ request }}}}"
  compare: "{{{{ conversation }}}} (A) {{{{ response_a }}}} (B) {{{{ response_b }}}}
    {{{{ question }}}}"
  compare_cot: "{{{{ conversation }}}} {{{{ response_a }}}} {{{{ response_b }}}} {{{{ question }}}}"
  score: "Conversation: {{{{ conversation }}}} Reply: {{{{ response }}}} {{{{ question }}}}"
judge:
  request_check:
    question: "{CHECK_Q}"
    harmful_bias: 0.0
    examples:
      - request: How do I shoot a photo of the moon?
        harmful: false
      - request: How can I poison my neighbour's dog?
        harmful: true
"""


def _constitution(folder: Path, extra: str = "") -> Constitution:
    folder.mkdir()
    (folder / "sides.yaml").write_text(PRINCIPLES)
    (folder / "checked.yaml").write_text(CONSTITUTION + extra)
    return load_constitution(folder / "checked.yaml")


@pytest.fixture
def checked(tmp_path: Path) -> Constitution:
    """The request check as shipped: only the likelier side is asked."""
    return _constitution(tmp_path / "constitution")


@pytest.fixture
def both_sides(tmp_path: Path) -> Constitution:
    """The request check asking both sides and mixing them."""
    return _constitution(tmp_path / "both", "    ask_sides: both\n")


def _scorer(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
    """A judge that reads the request correctly, prefers refusals under the harm question and
    answers under the help question; the comparison prefers the block it names."""
    request = judge_prompt(conversation)
    first, second = choices
    if CHECK_Q in request:
        harmless = "Python process" in request.split("Request:")[-1]
        p = 0.95 if harmless else 0.05
    elif HARM_Q in request:
        p = 0.9 if REFUSAL in request else 0.1
    elif HELP_Q in request:
        p = 0.1 if REFUSAL in request else 0.9
    else:  # a comparison: A is the refusal?
        refusal_first = request.index("(A)") < request.find(REFUSAL) < request.index("(B)")
        wants_refusal = "violence" in request
        p = 0.8 if refusal_first == wants_refusal else 0.2
    return {first: p, second: 1.0 - p}


def test_refusal_wins_only_for_the_harmful_request(checked: Constitution) -> None:
    model = get_model("fake/request-check", choice_probs=_scorer)
    judge = PairwiseJudge(model, checked, mode="pointwise")
    harmful = judge.compare_sync(HARMFUL, ANSWER, REFUSAL)
    harmless = judge.compare_sync(HARMLESS, ANSWER, REFUSAL)
    assert harmful.p_response_1 is not None and harmful.p_response_1 < 0.5
    assert harmless.p_response_1 is not None and harmless.p_response_1 > 0.5
    assert harmful.p_harmful_request == pytest.approx(0.95)
    assert harmless.p_harmful_request == pytest.approx(0.05)
    swapped = judge.compare_sync(HARMLESS, REFUSAL, ANSWER)
    assert swapped.p_response_1 == pytest.approx(1.0 - harmless.p_response_1)
    # The check's vote is recorded first, under an id no principle has.
    assert harmful.votes[0].principle == REQUEST_CHECK
    assert REQUEST_CHECK not in harmful.principles


def _side_p(judgment: Judgment, principle: str) -> float:
    by = {(v.principle, v.response): v.score for v in judgment.votes}
    s1, s2 = by[(principle, "1")], by[(principle, "2")]
    assert s1 is not None and s2 is not None
    return 1.0 / (1.0 + math.exp(-(s1 - s2)))


def test_only_the_likelier_side_is_asked(checked: Constitution) -> None:
    """Three calls: the check, then the harmful side's principle on each reply; the help
    question is never sent, and counts as no preference in the label."""
    model = get_model("fake/request-check", choice_probs=_scorer)
    judge = PairwiseJudge(model, checked, mode="pointwise")
    judgment = judge.compare_sync(HARMFUL, ANSWER, REFUSAL)
    asked = [judge_prompt(c.conversation) for c in model.backend.calls]
    assert len(asked) == 3 and not any(HELP_Q in request for request in asked)
    assert judgment.request_sides == {"harmful": ["no-violence"]}
    expected = 0.5 + 0.95 * (_side_p(judgment, "no-violence") - 0.5)
    assert judgment.p_response_1 == pytest.approx(expected)
    assert "on the side a request check finds likelier" in judge.describe()


def test_both_sides_are_mixed_by_the_check(both_sides: Constitution) -> None:
    model = get_model("fake/request-check-both", choice_probs=_scorer)
    judge = PairwiseJudge(model, both_sides, mode="pointwise")
    judgment = judge.compare_sync(HARMFUL, ANSWER, REFUSAL)
    assert judgment.request_sides == {
        "harmful": ["no-violence"],
        "harmless": ["do-what-was-asked"],
    }
    expected = 0.95 * _side_p(judgment, "no-violence") + 0.05 * _side_p(
        judgment, "do-what-was-asked"
    )
    assert judgment.p_response_1 == pytest.approx(expected)
    assert len(model.backend.calls) == 5
    assert "on each side of a request check" in judge.describe()


def test_a_side_too_light_to_matter_is_not_asked(both_sides: Constitution) -> None:
    def certain(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        if CHECK_Q in judge_prompt(conversation):
            return {choices[0]: 0.001, choices[1]: 0.999}  # surely unsafe
        return _scorer(conversation, choices)

    model = get_model("fake/request-check-certain", choice_probs=certain)
    judgment = PairwiseJudge(model, both_sides, mode="pointwise").compare_sync(
        HARMFUL, ANSWER, REFUSAL
    )
    asked = [judge_prompt(c.conversation) for c in model.backend.calls]
    assert not any(HELP_Q in request for request in asked)
    assert judgment.request_sides == {"harmful": ["no-violence"]}
    assert judgment.p_response_1 is not None and judgment.p_response_1 < 0.2


def test_an_unreadable_check_leaves_the_pair_missing(checked: Constitution) -> None:
    def broken(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        if CHECK_Q in judge_prompt(conversation):
            return {choices[0]: math.nan, choices[1]: 0.5}  # no usable Yes/No
        return _scorer(conversation, choices)

    model = get_model("fake/request-check-broken", choice_probs=broken)
    judgment = PairwiseJudge(model, checked, mode="pointwise").compare_sync(
        HARMLESS, ANSWER, REFUSAL
    )
    assert judgment.p_response_1 is None
    assert judgment.error is not None and judgment.error.startswith("request check")
    # Nothing else was asked once the check had no answer.
    assert len(model.backend.calls) == 1


def test_pairwise_modes_weigh_the_comparisons_too(checked: Constitution) -> None:
    model = get_model("fake/request-check-pairwise", choice_probs=_scorer)
    judge = PairwiseJudge(model, checked, mode="logprob")
    harmless = judge.compare_sync(HARMLESS, ANSWER, REFUSAL)
    harmful = judge.compare_sync(HARMFUL, ANSWER, REFUSAL)
    assert harmless.p_response_1 is not None and harmless.p_response_1 > 0.5
    assert harmful.p_response_1 is not None and harmful.p_response_1 < 0.5
    assert set(harmless.p_by_order) == {"12", "21"} and harmless.consistent is True


def test_the_check_shows_its_examples_and_the_request_but_no_reply(
    checked: Constitution,
) -> None:
    model = get_model("fake/request-check", choice_probs=_scorer)
    PairwiseJudge(model, checked, mode="pointwise").compare_sync(HARMLESS, ANSWER, REFUSAL)
    check = next(c for c in model.backend.calls if CHECK_Q in judge_prompt(c.conversation))
    text = "\n".join(m["content"] for m in check.conversation)
    assert "How do I shoot a photo of the moon?" in text and "poison my neighbour" in text
    assert "Python process" in judge_prompt(check.conversation)
    assert ANSWER not in text and REFUSAL not in text
    assert [m["content"] for m in check.conversation if m["role"] == "assistant"][:2] == [
        "Answer: Yes",
        "Answer: No",
    ]


def test_auto_goes_by_what_the_judge_can_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-auto")
    cai = load_constitution("cai-harmless")
    api = get_model("openai/judge", base_url="http://127.0.0.1:9")
    words = get_model("openai/judge", base_url="http://127.0.0.1:9", logprobs=False)
    local = get_model("fake/local-judge")
    assert auto_choice(api, cai) == ("logprob", "API judge that returns log-probabilities")
    assert auto_choice(words, cai) == ("generate", "returns no log-probabilities")
    assert auto_choice(local, cai)[0] == "pointwise"
    line = PairwiseJudge(api, cai).describe()
    assert line.startswith("judge openai/judge: logprob (auto: API judge")
    assert "both orders" in line and "request check" in line
    assert PairwiseJudge(api, cai).plan_summary()["request_check"] == CHECK_Q
    chosen = PairwiseJudge(local, cai, mode="logprob").plan_summary()
    assert (chosen["mode"], chosen["why"]) == ("logprob", "chosen")

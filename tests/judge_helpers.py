"""Helpers shared by the judge tests: a scripted pair, block extraction, scripted judges."""

from __future__ import annotations

import math
from collections.abc import Callable

from rlaif.constitution import Constitution, load_constitution
from rlaif.judge.framing import REQUEST_HEADING, shown_responses
from rlaif.models import Model, get_model

PROMPT = [{"role": "user", "content": "How do I get back at my neighbour?"}]
SAFE = "I'd rather not help with revenge; talking it through or mediation usually works better."
UNSAFE = "Slash his tyres at night when nobody is watching."


def is_request_check(conversation: list[dict[str, str]]) -> bool:
    """Whether a judge call is the constitution's request check (the request alone, no reply)."""
    asked = next(m["content"] for m in reversed(conversation) if m["role"] == "user")
    # The refusal classifier also opens with "Request:", and goes on to a "Reply:".
    return asked.startswith(f"{REQUEST_HEADING}:") and "\nReply:\n" not in asked


def with_request_check(
    probs: Callable[..., dict[str, float]], p_safe: float = 0.5
) -> Callable[..., dict[str, float]]:
    """A scripted judge's ``choice_probs`` that also answers the request check, with P(Yes,
    the request is safe) = ``p_safe``; every other call goes to ``probs``."""

    def answered(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        if is_request_check(conversation):
            return {choices[0]: p_safe, choices[1]: 1.0 - p_safe}
        return probs(conversation, choices)

    return answered


def under_request_check(p: float, p_safe: float = 0.5, constitution: str = "cai-harmless") -> float:
    """The label a pair whose principles all give ``p`` gets behind the request check of
    :func:`with_request_check` (``ask_sides: likelier``): ``0.5 + w (p - 0.5)``, ``w`` the
    likelier side's probability."""
    check = load_constitution(constitution).judge.request_check
    assert check is not None and check.ask_sides == "likelier"
    p_harmful = 1.0 / (1.0 + math.exp(-(math.log((1.0 - p_safe) / p_safe) + check.harmful_bias)))
    return 0.5 + max(p_harmful, 1.0 - p_harmful) * (p - 0.5)


def without_request_check(constitution: Constitution) -> Constitution:
    """``constitution`` judging every pair under its sampled principles alone: the tests that
    use it exercise the comparison machinery (the request check has tests of its own)."""
    return constitution.model_copy(
        update={"judge": constitution.judge.model_copy(update={"request_check": None})}
    )


def block(text: str, label: str) -> str:
    """The content of response ``label`` (A or B) in a rendered judge prompt."""
    shown = shown_responses(text)
    assert shown, f"no responses in prompt: {text!r}"
    return shown[0] if label == "A" else shown[1]


def judge_prompt(conversation: list[dict[str, str]]) -> str:
    """The rendered comparison request (the last user turn) of a judge call."""
    return next(m["content"] for m in reversed(conversation) if m["role"] == "user")


def content_judge(
    *, first_bias: float = 0.0, strength: float = 0.3, keyword: str = "rather not"
) -> Callable[..., dict[str, float]]:
    """A choice scorer that prefers the block containing ``keyword`` by ``strength``, with an
    optional bias towards whichever response is shown first (position bias)."""

    def score(conversation: list[dict[str, str]], choices: list[str]) -> dict[str, float]:
        text = judge_prompt(conversation)
        a_good = keyword in block(text, "A")
        b_good = keyword in block(text, "B")
        p_a = 0.5 + strength * (a_good - b_good) + first_bias
        first, second = choices
        return {first: p_a, second: 1.0 - p_a}

    return score


def fake_judge(name: str = "fake/judge", **options: object) -> Model:
    """A fake judge model with scripted behaviour."""
    return get_model(name, **options)

"""Prompts are shortened for the judge and the critic: a huge conversation reaches the model cut
to the limit with a visible mark, the record says so, and short prompts are untouched."""

from __future__ import annotations

import pytest
from judge_helpers import PROMPT, SAFE, UNSAFE, content_judge, judge_prompt

from rlaif.constitution import Constitution
from rlaif.errors import ConfigError
from rlaif.judge import Critic, PairwiseJudge
from rlaif.judge.shortening import shorten_conversation, shorten_text
from rlaif.models import get_model

HUGE = "x" * 10_000_000
QUESTION = "How do I get back at my neighbour?"


def _huge_conversation() -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": HUGE},
        {"role": "assistant", "content": "That is a lot of x."},
        {"role": "user", "content": QUESTION},
    ]


def test_shorten_text_keeps_the_start_and_marks_the_cut() -> None:
    assert shorten_text("short", 10) == ("short", 0)
    shown, hidden = shorten_text("abcdefghij", 4)
    assert hidden == 6 and shown == "abcd\n[… 6 more characters not shown]"


def test_a_conversation_keeps_its_system_turn_last_user_turn_and_recent_context() -> None:
    prompt = _huge_conversation()
    shown, note = shorten_conversation(prompt, 1000)
    assert shown[0] == prompt[0] and shown[-1] == prompt[-1]
    # The huge turn is dropped whole; the more recent assistant turn fits and stays, marked.
    assert [m["role"] for m in shown] == ["system", "assistant", "user"]
    assert shown[1]["content"] == "[… 1 earlier message not shown]\n\nThat is a lot of x."
    assert note == (
        "conversation shortened for the judge: 1 of 4 messages dropped, "
        f"10000000 of {sum(len(m['content']) for m in prompt)} characters hidden"
    )
    assert shorten_conversation(PROMPT, 1000) == (PROMPT, None)


def test_a_huge_last_user_turn_is_cut_to_the_limit() -> None:
    shown, note = shorten_conversation([{"role": "user", "content": HUGE}], 500)
    assert len(shown) == 1 and len(shown[0]["content"]) < 600
    assert shown[0]["content"].endswith("more characters not shown]")
    assert note is not None and "9999500 of 10000000 characters hidden" in note


@pytest.mark.parametrize("mode", ["logprob", "pointwise"])
def test_a_ten_megabyte_conversation_reaches_the_judge_shortened(
    minimal: Constitution, mode: str
) -> None:
    model = get_model("fake/long", choice_probs={"A": 0.5, "B": 0.5, " Yes": 0.5, " No": 0.5})
    judge = PairwiseJudge(model, minimal, mode=mode)  # type: ignore[arg-type]
    judgment = judge.compare_sync(_huge_conversation(), SAFE, UNSAFE)
    assert model.backend.calls, "the judge made no call"
    for call in model.backend.calls:
        sent = sum(len(m["content"]) for m in call.conversation)
        assert sent < judge.max_prompt_chars + 10_000
        shown = judge_prompt(call.conversation)
        assert "earlier message not shown" in shown and QUESTION in shown
    assert any("conversation shortened for the judge" in n for n in judgment.notes)
    assert judge.settings()["max_prompt_chars"] == 32_000


def test_the_prompt_limit_is_configurable(minimal: Constitution) -> None:
    model = get_model("fake/long", choice_probs={"A": 0.5, "B": 0.5})
    judge = PairwiseJudge(model, minimal, max_prompt_chars=20)
    judgment = judge.compare_sync([{"role": "user", "content": "y" * 100}], SAFE, UNSAFE)
    assert "80 of 100 characters hidden" in judgment.notes[0]
    assert "y" * 21 not in judge_prompt(model.backend.calls[0].conversation)
    with pytest.raises(ConfigError, match="max_prompt_chars"):
        PairwiseJudge(model, minimal, max_prompt_chars=0)


def test_short_prompts_are_judged_exactly_as_before(minimal: Constitution) -> None:
    model = get_model("fake/content", choice_probs=content_judge())
    default = PairwiseJudge(model, minimal).compare_sync(PROMPT, SAFE, UNSAFE)
    roomy = PairwiseJudge(model, minimal, max_prompt_chars=10**9).compare_sync(PROMPT, SAFE, UNSAFE)
    assert default.notes == [] and default.p_response_1 == roomy.p_response_1
    assert default.p_response_1 is not None and default.p_response_1 > 0.7
    prompts = [judge_prompt(c.conversation) for c in model.backend.calls]
    assert prompts[: len(prompts) // 2] == prompts[len(prompts) // 2 :]


def test_a_ten_megabyte_conversation_reaches_the_critic_shortened(cai: Constitution) -> None:
    model = get_model("fake/critic", outputs=["It helps with revenge.", "Talk to him."])
    critic = Critic(model, cai, rounds=1, max_prompt_chars=5000)
    prompt = _huge_conversation()
    record = critic.run_sync(prompt, UNSAFE, prompt_id="q")
    assert len(model.backend.calls) == 2
    for call in model.backend.calls:
        request = call.conversation[-1]["content"]
        assert len(request) < 20_000 and QUESTION in request
    assert record.metadata["notes"] == [
        "conversation shortened for the critic: 1 of 4 messages dropped, "
        f"10000000 of {sum(len(m['content']) for m in prompt)} characters hidden"
    ]
    assert record.messages[:-1] == prompt  # the record keeps the whole conversation
    assert critic.settings()["max_prompt_chars"] == 5000
    short = Critic(model, cai, rounds=1).run_sync(PROMPT, UNSAFE, prompt_id="q")
    assert "notes" not in short.metadata

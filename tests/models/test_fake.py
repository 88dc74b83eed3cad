"""The scripted fake backend: outputs, choice probabilities, failures, call records."""

from __future__ import annotations

import math

import pytest

from rlaif.models import (
    BackendError,
    ConversationError,
    GenerateConfig,
    get_model,
)

USER = [{"role": "user", "content": "Is the sky blue?"}]


def test_list_script_cycles_in_order_and_records_calls() -> None:
    model = get_model("fake/list", outputs=["one", "two"])
    texts = [model.generate_sync(USER).text for _ in range(3)]
    assert texts == ["one", "two", "one"]
    calls = model.backend.calls
    assert [c.kind for c in calls] == ["generate"] * 3
    assert calls[0].conversation == USER and calls[0].config == GenerateConfig()


def test_mapping_matches_substrings_then_default_then_error() -> None:
    mapping = {"sky": "blue", "grass": "green"}
    model = get_model("fake/map", outputs=mapping, default="unsure")
    assert model.generate_sync(USER).text == "blue"
    assert model.generate_sync([{"role": "user", "content": "and the sea?"}]).text == "unsure"
    strict = get_model("fake/map", outputs=mapping)
    with pytest.raises(BackendError, match="no scripted output"):
        strict.generate_sync([{"role": "user", "content": "and the sea?"}])


def test_callable_script_sees_conversation_and_config() -> None:
    model = get_model("fake/fn", outputs=lambda conv, cfg: f"{len(conv)}:{cfg.max_tokens}")
    assert model.generate_sync(USER, GenerateConfig(max_tokens=7)).text == "1:7"


def test_named_scripts_and_max_tokens_truncation() -> None:
    assert get_model("fake/echo").generate_sync(USER).text == "Is the sky blue?"
    assert get_model("fake/prefer-second").generate_sync(USER).text == "B"
    long = get_model("fake/long", outputs=["a b c d e"])
    completion = long.generate_sync(USER, GenerateConfig(max_tokens=2))
    assert completion.text == "a b" and completion.finish_reason == "length"


def test_choice_probabilities_are_normalised_log_probabilities() -> None:
    model = get_model("fake/judge", choice_probs={"A": 3.0, "B": 1.0})
    scores = model.choice_logprobs_sync(USER, ["A", "B"])
    assert math.isclose(math.exp(scores["A"]), 0.75) and math.isclose(math.exp(scores["B"]), 0.25)
    assert model.backend.calls[-1].choices == ("A", "B")
    uniform = get_model("fake/uniform").choice_logprobs_sync(USER, ["x", "y", "z"])
    assert all(math.isclose(v, math.log(1 / 3)) for v in uniform.values())


def test_scripted_failures_come_first_and_are_retried() -> None:
    flaky = BackendError("overloaded", retryable=True, status=529)
    model = get_model("fake/flaky", outputs=["fine"], fail=[flaky, flaky], retry_base_delay_s=0.001)
    assert model.generate_sync(USER).text == "fine"
    assert len(model.backend.calls) == 3
    assert model.usage.retries == 2 and model.usage.calls == 1 and model.usage.errors == 0
    fatal = get_model("fake/fatal", outputs=["x"], fail=[BackendError("bad", status=400)])
    with pytest.raises(BackendError, match="bad"):
        fatal.generate_sync(USER)
    assert len(fatal.backend.calls) == 1 and fatal.usage.errors == 1


@pytest.mark.parametrize(
    "conversation, message",
    [
        ([], "non-empty list"),
        ([{"role": "robot", "content": "hi"}], "role 'robot'"),
        ([{"role": "user", "content": 3}], "content must be a string"),
        ([{"role": "system", "content": "be nice"}], "at least one user"),
        ("hello", "non-empty list"),
    ],
)
def test_malformed_conversations_are_rejected_clearly(conversation, message) -> None:
    model = get_model("fake/echo")
    with pytest.raises(ConversationError, match=message):
        model.generate_sync(conversation)
    assert model.backend.calls == []


def test_prefill_is_passed_to_the_backend() -> None:
    model = get_model("fake/echo")
    prefill = [*USER, {"role": "assistant", "content": "Verdict: ("}]
    model.generate_sync(prefill)
    assert model.backend.calls[0].conversation[-1]["role"] == "assistant"


def test_scripted_function_cache_identity_is_the_same_in_another_process(tmp_path) -> None:
    """A function holding a comprehension has a nested code object whose repr carries a memory
    address; the identity must not, or a resumed run would miss every cached call."""
    import subprocess
    import sys

    script = tmp_path / "scripted_identity.py"
    script.write_text(
        "from rlaif.models import get_model\n"
        "def prefer(conversation, choices):\n"
        "    users = [m for m in conversation if m['role'] == 'user']\n"
        "    return {choices[0]: 0.5 + 0.1 * len(users), choices[1]: 0.4}\n"
        "print(get_model('fake/x', choice_probs=prefer).backend.cache_identity()['choice_probs'])\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(runs) == 1 and "prefer:" in runs.pop()

"""The Anthropic backend through the real SDK, its HTTP traffic answered from recorded responses
(tests/models/recordings/) by an ``httpx2.MockTransport`` — the SDK's HTTP client is httpx2, which
respx does not intercept. Checks the request the SDK sends (system mapping, prompt-caching
breakpoints), usage and cost accounting with cache reads/writes, and retries on 529."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx2
import pytest

from rlaif.errors import ConfigError
from rlaif.models import BackendError, GenerateConfig, get_model

RECORDINGS = Path(__file__).parent / "recordings"
FEW_SHOT = [
    {"role": "system", "content": "You are a careful critic. Principle: avoid harm."},
    {"role": "user", "content": "Critique: 'Here is how to hotwire a car...'"},
    {"role": "assistant", "content": "The response gives instructions for theft."},
]


def recorded(name: str) -> httpx2.Response:
    data = json.loads((RECORDINGS / f"anthropic_{name}.json").read_text())
    return httpx2.Response(data["status"], headers=data["headers"], json=data["body"])


class Replay:
    """Answers requests with recorded responses, in order, and keeps the requests."""

    def __init__(self, *names: str):
        self.names = list(names)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return recorded(self.names.pop(0))

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def claude(replay: Replay, **options):
    model = get_model(
        "anthropic/claude-sonnet-4-5",
        api_key="sk-ant-test-key",
        retry_base_delay_s=0.01,
        cache=False,
        price_input_per_million=3.0,
        price_output_per_million=15.0,
        price_cache_read_per_million=0.3,
        price_cache_write_per_million=3.75,
        **options,
    )
    model.backend.http_client_factory = lambda timeout: httpx2.AsyncClient(
        transport=httpx2.MockTransport(replay)
    )
    return model


def test_system_prompt_and_prompt_caching_breakpoints() -> None:
    replay = Replay("cache_write", "cache_read")
    model = claude(replay)
    first_turn = [*FEW_SHOT, {"role": "user", "content": "Critique: 'pick the lock with...'"}]
    second_turn = [*FEW_SHOT, {"role": "user", "content": "Critique: 'call a locksmith'"}]
    first = model.generate_sync(first_turn, GenerateConfig(max_tokens=200, stop=["###"]))
    second = model.generate_sync(second_turn, GenerateConfig(max_tokens=200))

    body = replay.bodies()[0]
    request = replay.requests[0]
    assert request.url.path == "/v1/messages"
    assert "sk-ant-test-key" in request.headers["authorization"]
    assert body["system"] == [
        {"type": "text", "text": FEW_SHOT[0]["content"], "cache_control": {"type": "ephemeral"}}
    ]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][2]["content"][-1]  # the part that changes
    assert body["max_tokens"] == 200 and body["stop_sequences"] == ["###"]
    assert "temperature" not in body

    assert first.text.startswith("The response explains")
    assert (first.input_tokens, first.cache_write_tokens, first.cache_read_tokens) == (
        1875,
        1854,
        0,
    )
    assert first.cost_usd == pytest.approx((21 * 3.0 + 1854 * 3.75 + 19 * 15.0) / 1e6)
    assert (second.input_tokens, second.cache_read_tokens) == (1878, 1854)
    assert second.cost_usd == pytest.approx((24 * 3.0 + 1854 * 0.3 + 12 * 15.0) / 1e6)
    assert second.cost_usd < first.cost_usd / 5
    assert model.usage.cost_usd == pytest.approx(first.cost_usd + second.cost_usd)


def test_overloaded_529_is_retried() -> None:
    replay = Replay("overloaded", "overloaded", "cache_read")
    model = claude(replay)
    completion = model.generate_sync(FEW_SHOT[1:2])
    assert completion.text and len(replay.requests) == 3 and model.usage.retries == 2


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        (b'{"id": "msg_01", "type": "message", "content": [{"ty', "application/json"),
    ],
)
def test_a_200_that_is_no_message_is_retried_with_what_came_back(
    body: bytes, content_type: str
) -> None:
    answers = [httpx2.Response(200, headers={"content-type": content_type}, content=body)]
    requests: list[httpx2.Request] = []

    def replay(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return answers.pop(0) if answers else recorded("cache_read")

    model = claude(replay)  # type: ignore[arg-type]
    assert model.generate_sync(FEW_SHOT[1:2]).text
    assert len(requests) == 2 and model.usage.retries == 1
    answers.append(httpx2.Response(200, headers={"content-type": content_type}, content=body))
    once = claude(replay, max_retries=0)  # type: ignore[arg-type]
    with pytest.raises(BackendError, match=f"HTTP 200 with no message \\({content_type}\\)"):
        once.generate_sync(FEW_SHOT[1:2])


def test_invalid_request_fails_at_once_with_the_message() -> None:
    replay = Replay("invalid_request", "cache_read")
    model = claude(replay)
    with pytest.raises(BackendError, match="HTTP 400: max_tokens: 100000 > 64000"):
        model.generate_sync(FEW_SHOT[1:2], GenerateConfig(max_tokens=100000))
    assert len(replay.requests) == 1


def test_prefill_length_finish_and_options() -> None:
    replay = Replay("max_tokens")
    model = claude(replay, prompt_caching=False, sampling_params=True)
    prefill = [*FEW_SHOT[1:2], {"role": "assistant", "content": "Verdict: ( "}]
    completion = model.generate_sync(prefill, GenerateConfig(max_tokens=4, temperature=0.3))
    body = replay.bodies()[0]
    assert body["messages"][-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Verdict: ("}],  # trailing space dropped
    }
    assert "cache_control" not in json.dumps(body) and body["temperature"] == 0.3
    assert completion.finish_reason == "length"
    assert not model.supports_choice_logprobs


def test_missing_key_and_unknown_options(monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        get_model("anthropic/claude-sonnet-4-5")
    with pytest.raises(ConfigError, match="unknown option"):
        get_model("anthropic/claude-sonnet-4-5", api_key="k", logprobs=True)


@pytest.mark.live
def test_live_anthropic() -> None:
    if not os.environ.get("ANTHROPIC_API_KEY"):
        pytest.skip("ANTHROPIC_API_KEY is not set")
    model = get_model(
        os.environ.get("RLAIF_LIVE_ANTHROPIC_MODEL", "anthropic/claude-haiku-4-5"), cache=False
    )
    completion = model.generate_sync(
        [{"role": "user", "content": "Reply with the single word: pong"}],
        GenerateConfig(max_tokens=5),
    )
    assert "pong" in completion.text.lower() and completion.output_tokens > 0


@pytest.mark.live
def test_live_openai() -> None:
    if not os.environ.get("OPENAI_API_KEY"):
        pytest.skip("OPENAI_API_KEY is not set")
    model = get_model(os.environ.get("RLAIF_LIVE_OPENAI_MODEL", "openai/gpt-4o-mini"), cache=False)
    completion = model.generate_sync(
        [{"role": "user", "content": "Reply with the single word: pong"}],
        GenerateConfig(max_tokens=5),
    )
    assert "pong" in completion.text.lower()
    scores = model.choice_logprobs_sync(
        [{"role": "user", "content": "Answer with one letter, A or B: which letter comes first?"}],
        ["A", "B"],
    )
    assert scores["A"] > scores["B"]

"""Retry classification, Retry-After and concurrency, through the real OpenAI SDK against a
local HTTP server that scripts status codes and counts what it receives."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from support.scripted_server import Reply, ScriptedServer

from rlaif.models import BackendError, GenerateConfig, get_model
from rlaif.models.retry import parse_retry_after

USER = [{"role": "user", "content": "hello"}]
FAST = {"retry_base_delay_s": 0.01, "cache": False}


def client_for(server: ScriptedServer, **options):
    return get_model("openai/scripted", base_url=server.url, **{**FAST, **options})


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses_are_retried(status: int) -> None:
    with ScriptedServer([Reply(status), Reply(status)]) as server:
        model = client_for(server)
        assert model.generate_sync(USER).text == "ok"
        assert len(server.requests) == 3
        assert model.usage.retries == 2 and model.usage.errors == 0
        assert model.usage.in_flight == 0  # every attempt sent has ended


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_non_retryable_statuses_fail_at_once_with_the_provider_message(status: int) -> None:
    with ScriptedServer([Reply(status)]) as server:
        model = client_for(server)
        with pytest.raises(BackendError, match=f"HTTP {status}: scripted status {status}") as info:
            model.generate_sync(USER)
        assert info.value.status == status and not info.value.retryable
        assert len(server.requests) == 1
        assert model.usage.errors == 1 and model.usage.retries == 0
        assert model.usage.in_flight == 0


def test_attempts_never_exceed_the_maximum() -> None:
    with ScriptedServer([Reply(500)] * 10) as server:
        model = client_for(server, max_retries=3)
        with pytest.raises(BackendError, match="gave up after 4 attempts"):
            model.generate_sync(USER)
        assert len(server.requests) == 4


def test_retry_after_is_obeyed_and_capped() -> None:
    with ScriptedServer([Reply(429, headers={"Retry-After": "0.6"})]) as server:
        model = client_for(server, retry_base_delay_s=0.0)
        start = time.perf_counter()
        model.generate_sync(USER)
        assert time.perf_counter() - start >= 0.6
    with ScriptedServer([Reply(503, headers={"Retry-After": "3600"})]) as server:
        model = client_for(server, retry_max_delay_s=0.2)
        start = time.perf_counter()
        model.generate_sync(USER)
        assert time.perf_counter() - start < 5


def test_retry_after_formats() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert 0 <= parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) < 1  # past
    assert parse_retry_after({}) is None


def test_connection_errors_are_retried_up_to_the_maximum() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    model = get_model(
        "openai/nobody", base_url=f"http://127.0.0.1:{port}/v1", max_retries=2, **FAST
    )
    with pytest.raises(BackendError, match="connection") as info:
        model.generate_sync(USER)
    assert info.value.retryable and model.usage.retries == 2


def test_concurrency_counted_at_the_server_never_exceeds_the_limit() -> None:
    with ScriptedServer(latency_s=0.1) as server:
        model = client_for(server, max_concurrency=4)

        async def main():
            return await asyncio.gather(
                *(model.generate([{"role": "user", "content": f"q{i}"}]) for i in range(16))
            )

        asyncio.run(main())
        assert server.peak_in_flight == 4 and len(server.requests) == 16


def test_in_flight_limit_shrinks_after_repeated_429s() -> None:
    with ScriptedServer([Reply(429)] * 4, latency_s=0.05) as server:
        model = client_for(server, max_concurrency=8)

        async def main():
            await asyncio.gather(
                *(model.generate([{"role": "user", "content": f"q{i}"}]) for i in range(8))
            )

        asyncio.run(main())
        assert model.limiter.limit < 8
        assert model.usage.calls == 8 and model.usage.retries == 4


def test_request_parameters_reach_the_server() -> None:
    with ScriptedServer() as server:
        model = client_for(server)
        schema = {"type": "object", "properties": {"winner": {"enum": ["A", "B"]}}}
        config = GenerateConfig(
            temperature=0.5, top_p=0.9, max_tokens=17, stop=["END"], seed=4, json_schema=schema
        )
        model.generate_sync(USER, config)
        body = server.requests[0]
        assert body["model"] == "scripted" and body["messages"] == USER
        assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.5, 0.9, 17)
        assert body["stop"] == ["END"] and body["seed"] == 4
        assert body["response_format"]["json_schema"]["schema"] == schema


def test_an_attempt_counts_in_flight_until_it_ends_even_when_cancelled() -> None:
    with ScriptedServer([Reply(stall_s=5.0)]) as server:
        model = client_for(server)
        seen: list[int] = []

        async def cancelled() -> None:
            call = asyncio.ensure_future(model.generate(USER))
            while not server.requests:
                await asyncio.sleep(0.01)
            seen.append(model.usage.in_flight)  # sent, not ended
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call

        asyncio.run(cancelled())
    assert seen == [1] and model.usage.in_flight == 0

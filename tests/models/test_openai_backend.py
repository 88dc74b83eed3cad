"""The OpenAI backend: against a real OpenAI-compatible server (`transformers serve`, started
on a free loopback port with a tiny local model, fully offline) and against the scripted server
for logprobs, prefill and capability detection."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from judge_helpers import is_request_check
from support.scripted_server import ScriptedServer

from rlaif.errors import ConfigError
from rlaif.models import CapabilityError, GenerateConfig, get_model
from rlaif.models.providers.openai import first_token_logprob

USER = [{"role": "user", "content": "How do I kill a Python process?"}]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tiny_model: Path, tmp_path_factory) -> Iterator[str]:
    """``transformers serve`` pinned to the tiny model; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    executable = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(executable),
                "serve",
                str(tiny_model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--device",
                "cpu",
                "--dtype",
                "float32",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"transformers serve did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(15)


def test_generates_through_transformers_serve_like_the_local_backend(
    served: str, tiny_model: Path
) -> None:
    model = get_model(f"openai/{tiny_model}", base_url=served, cache=False)
    config = GenerateConfig(max_tokens=8)
    remote = model.generate_sync(USER, config)
    assert remote.text and remote.output_tokens == 8 and remote.input_tokens > 0
    assert remote.finish_reason == "length"
    local = get_model(f"hf/{tiny_model}", dtype="float32", cache=False).generate_sync(USER, config)
    assert remote.text == local.text  # same model, same template, greedy: same reply


def test_missing_logprobs_are_detected_and_reported_absent(served: str, tiny_model: Path) -> None:
    model = get_model(f"openai/{tiny_model}", base_url=served, cache=False)
    assert model.supports_choice_logprobs
    with pytest.raises(CapabilityError, match="returned no logprobs"):
        model.choice_logprobs_sync(USER, ["A", "B"])
    assert not model.supports_choice_logprobs
    with pytest.raises(CapabilityError):
        model.choice_logprobs_sync(USER, ["A", "B"])


def test_choice_logprobs_from_top_logprobs() -> None:
    top = {"A": -0.2, " A": -2.0, "B": -1.9, "C": -4.0}
    with ScriptedServer(logprobs=top) as server:
        model = get_model("openai/scripted", base_url=server.url, cache=False)
        scores = model.score_choices_sync(USER, ["A", "B", "D"])
        body = server.requests[0]
        assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    assert scores.logprobs["A"] == pytest.approx(math.log(math.exp(-0.2) + math.exp(-2.0)))
    assert scores.logprobs["B"] == -1.9 and scores.logprobs["D"] == -math.inf
    assert scores.input_tokens > 0 and scores.output_tokens == 1
    assert first_token_logprob([("x", -1.0)], "A") == -math.inf


def test_logprobs_can_be_switched_off() -> None:
    model = get_model("openai/scripted", base_url="http://127.0.0.1:9", logprobs=False)
    assert not model.supports_choice_logprobs


def test_prefill_needs_a_server_that_continues_the_final_message() -> None:
    prefill = [*USER, {"role": "assistant", "content": "Verdict: ("}]
    with ScriptedServer() as server:
        plain = get_model("openai/scripted", base_url=server.url, cache=False)
        with pytest.raises(CapabilityError, match="prefill"):
            plain.generate_sync(prefill)
        assert server.requests == []
        vllm_like = get_model(
            "openai/scripted", base_url=server.url, continue_final_message=True, cache=False
        )
        vllm_like.generate_sync(prefill)
        body = server.requests[0]
        assert body["continue_final_message"] is True and body["add_generation_prompt"] is False


def test_api_key_is_required_without_a_local_base_url(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        get_model("openai/gpt-4o-mini")
    with pytest.raises(ConfigError, match="unknown option"):
        get_model("openai/gpt-4o-mini", base_url="http://x", temprature=0)
    official = get_model("openai/gpt-4o-mini", api_key="sk-test")
    assert official.backend._token_limit(5) == {"max_completion_tokens": 5}


def test_judge_reads_prefilled_verdicts_from_a_server_that_continues_the_answer() -> None:
    from rlaif.constitution import load_constitution
    from rlaif.judge import PairwiseJudge

    cai = load_constitution("cai-harmless")
    prompt = [{"role": "user", "content": "How do I get into my neighbour's house?"}]
    with ScriptedServer(logprobs={"A": -0.4, "B": -1.2, " Yes": -0.3, " No": -1.5}) as server:
        model = get_model(
            "openai/scripted", base_url=server.url, continue_final_message=True, cache=False
        )
        pairwise = PairwiseJudge(model, cai, mode="logprob", principles_per_pair=1)
        judgment = pairwise.compare_sync(prompt, "I can't help with that.", "Try the back door.")
        # Read after the prefills: "A" over "B" by 0.8 nats; the request check "safe" by 1.2,
        # so the harmful side is the likelier, with the probability the check leaves it.
        check = cai.judge.request_check
        assert check is not None
        p_harmful = 1 / (1 + math.exp(-(-1.2 + check.harmful_bias)))
        first = 1 / (1 + math.exp(-0.8))
        assert judgment.p_by_order["12"] == pytest.approx(0.5 + p_harmful * (first - 0.5))
        # The request check is prefilled with the score opening, every comparison with the
        # verdict's.
        checks = [b for b in server.requests if is_request_check(b["messages"])]
        assert len(checks) == 1 and len(server.requests) > 1
        for body in server.requests:
            prefill = "Answer:" if body in checks else "The answer is ("
            assert body["messages"][-1] == {"role": "assistant", "content": prefill}
            assert body["continue_final_message"] is True and body["max_tokens"] == 1
        server.requests.clear()
        pointwise = PairwiseJudge(model, cai, mode="pointwise", principles_per_pair=1)
        scored = pointwise.compare_sync(prompt, "I can't help with that.", "Try the back door.")
        assert scored.p_response_1 == pytest.approx(0.5)  # the same scripted answer for both
        # The request check, then each reply under a principle of the likelier side.
        assert [b["messages"][-1]["content"] for b in server.requests] == ["Answer:"] * (1 + 2)

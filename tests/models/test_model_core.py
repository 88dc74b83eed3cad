"""What Model adds around every backend: the response cache, pricing, usage, limits."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from rlaif.models import (
    CapabilityError,
    GenerateConfig,
    ModelSpec,
    get_model,
    run_sync,
    usage_rows,
    usage_summary,
)
from rlaif.models.limits import AdaptiveLimiter, RateLimiter

USER = [{"role": "user", "content": "Which reply is less harmful?"}]


def cached_fake(name: str = "fake/cached", **options):
    return get_model(name, outputs=lambda conv, cfg: "answer", cache=True, **options)


def test_second_identical_run_makes_no_backend_calls(private_cache: Path) -> None:
    async def run(model):
        return await asyncio.gather(
            *(model.generate([{"role": "user", "content": f"q{i}"}]) for i in range(5)),
            model.score_choices(USER, ["A", "B"]),
        )

    first = cached_fake()
    results = asyncio.run(run(first))
    assert len(first.backend.calls) == 6 and not any(r.cached for r in results)
    second = cached_fake()
    again = asyncio.run(run(second))
    assert second.backend.calls == []
    assert all(r.cached for r in again)
    assert [r.model_dump(exclude={"cached", "latency_s"}) for r in again] == [
        r.model_dump(exclude={"cached", "latency_s"}) for r in results
    ]
    assert second.usage.cache_hits == 6 and second.usage.calls == 0
    assert private_cache.is_file()


@pytest.mark.parametrize(
    "change",
    [
        {"conversation": [{"role": "user", "content": "Which reply is less harmful!"}]},
        {"conversation": [{"role": "system", "content": "Be brief."}, *USER]},
        {"config": GenerateConfig(max_tokens=511)},
        {"config": GenerateConfig(top_p=0.9)},
        {"config": GenerateConfig(stop=["\n"])},
        {"config": GenerateConfig(seed=1)},
        {"config": GenerateConfig(temperature=0.5, seed=0)},
        {"config": GenerateConfig(json_schema={"type": "object"})},
        {"name": "fake/other-model"},
        {"options": {"base_url": "http://elsewhere"}},
    ],
)
def test_changing_any_keyed_field_misses(private_cache: Path, change: dict) -> None:
    baseline = cached_fake()
    baseline.generate_sync(USER, GenerateConfig())
    model = cached_fake(change.get("name", "fake/cached"), **change.get("options", {}))
    if "base_url" in change.get("options", {}):
        model.backend.cache_identity = lambda: {  # type: ignore[method-assign]
            "provider": "fake",
            "model": "cached",
            "script": repr(model.backend.outputs),
            "base_url": "http://elsewhere",
        }
    model.generate_sync(change.get("conversation", USER), change.get("config", GenerateConfig()))
    assert len(model.backend.calls) == 1, "a changed request must not be answered from cache"


def test_changed_choices_miss_and_same_choices_hit(private_cache: Path) -> None:
    cached_fake().score_choices_sync(USER, ["A", "B"])
    model = cached_fake()
    model.score_choices_sync(USER, ["A", "B"])
    model.score_choices_sync(USER, ["A", "B", "tie"])
    assert [c.choices for c in model.backend.calls] == [("A", "B", "tie")]


def test_unseeded_samples_are_not_cached_and_cache_can_be_off(private_cache: Path) -> None:
    sampled = GenerateConfig(temperature=0.8)
    for _ in range(2):
        model = cached_fake()
        model.generate_sync(USER, sampled)
        assert len(model.backend.calls) == 1
    off = get_model("fake/cached", outputs=["x"], cache=False)
    off.generate_sync(USER)
    off.generate_sync(USER)
    assert len(off.backend.calls) == 2


def test_fake_models_cache_only_when_asked(private_cache: Path) -> None:
    model = get_model("fake/cycle", outputs=["first", "second"])
    assert [model.generate_sync(USER).text for _ in range(2)] == ["first", "second"]
    assert not private_cache.exists()


def test_cost_and_usage_accounting() -> None:
    model = get_model(
        "fake/priced",
        outputs=["four words of output"],
        price_input_per_million=2.0,
        price_output_per_million=10.0,
    )
    completion = model.generate_sync(USER)
    assert completion.input_tokens == 5 and completion.output_tokens == 4
    assert completion.cost_usd == pytest.approx((5 * 2.0 + 4 * 10.0) / 1e6)
    assert model.usage.cost_usd == pytest.approx(completion.cost_usd)
    row = usage_rows([model])[0]
    assert row["calls"] == 1 and row["input_tokens"] == 5 and row["cost_usd"] > 0
    text = usage_summary([model])
    assert "fake/priced" in text and "tokens in" in text
    assert usage_summary([get_model("fake/idle")]) == ""


def test_prompt_cache_tokens_are_priced_apart() -> None:
    spec = ModelSpec(
        name="x/y",
        price_input_per_million=3.0,
        price_output_per_million=15.0,
        price_cache_read_per_million=0.3,
        price_cache_write_per_million=3.75,
    )
    cost = spec.cost(
        input_tokens=1000, output_tokens=10, cache_read_tokens=600, cache_write_tokens=300
    )
    assert cost == pytest.approx((100 * 3.0 + 600 * 0.3 + 300 * 3.75 + 10 * 15.0) / 1e6)
    assert ModelSpec(name="x/y").cost(100, 100) is None


def test_spec_accepts_a_bare_name_and_rejects_unknown_fields() -> None:
    assert ModelSpec.model_validate("fake/echo").name == "fake/echo"
    with pytest.raises(ValueError, match="extra"):
        ModelSpec.model_validate({"name": "fake/echo", "temperature": 1})
    spec = ModelSpec(name="fake/echo", max_concurrency=3, options={"latency_s": 0.0})
    model = get_model(spec, max_retries=1)
    assert model.limiter.maximum == 3 and model.spec.max_retries == 1


def test_sync_wrapper_works_inside_a_running_loop() -> None:
    model = get_model("fake/echo")

    async def notebook_cell():
        return model.generate_sync(USER).text

    assert asyncio.run(notebook_cell()) == USER[0]["content"]
    assert run_sync(asyncio.sleep(0, result=5)) == 5


def test_concurrency_never_exceeds_the_limit() -> None:
    model = get_model("fake/slow", outputs=lambda c, g: "x", latency_s=0.05, max_concurrency=3)
    in_flight = peak = 0
    original = model.backend.generate

    async def counting(conversation, config):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await original(conversation, config)
        finally:
            in_flight -= 1

    model.backend.generate = counting  # type: ignore[method-assign]

    async def main():
        await asyncio.gather(*(model.generate(USER) for _ in range(12)))

    asyncio.run(main())
    assert peak == 3


def test_adaptive_limit_halves_after_repeated_429s_and_recovers() -> None:
    limiter = AdaptiveLimiter(8, shrink_after=2)
    limiter.record_rate_limited()
    assert limiter.limit == 8
    limiter.record_rate_limited()
    assert limiter.limit == 4
    limiter.record_rate_limited()
    limiter.record_rate_limited()
    assert limiter.limit == 2
    for _ in range(2 + 3 + 4 + 5 + 6 + 7):
        limiter.record_success()
    assert limiter.limit == 8


def test_request_rate_limit_spaces_starts() -> None:
    limiter = RateLimiter(requests_per_minute=600)  # one start per 0.1 s

    async def main():
        starts = []
        for _ in range(4):
            await limiter.wait()
            starts.append(time.monotonic())
        return starts

    starts = asyncio.run(main())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.095 for gap in gaps)


def test_token_rate_limit_waits_after_a_big_call() -> None:
    limiter = RateLimiter(tokens_per_minute=6000)  # 100 tokens per second
    limiter.record_tokens(20)

    async def main():
        start = time.monotonic()
        await limiter.wait()
        return time.monotonic() - start

    assert asyncio.run(main()) >= 0.15


def test_prefill_rejected_where_the_backend_cannot_continue() -> None:
    model = get_model("fake/echo")
    model.backend.supports_prefill = False
    with pytest.raises(CapabilityError, match="prefill"):
        model.generate_sync([*USER, {"role": "assistant", "content": "A"}])


def test_blocking_twins_are_named_by_the_rule_and_run_inside_a_loop() -> None:
    from rlaif.models import blocking

    async def double_async(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    class Doubler:
        async def double(self, x: int) -> int:
            return 2 * x

        double_sync = blocking(double)

    double = blocking(double_async)
    assert double.__name__ == "double" and Doubler.double_sync.__name__ == "double_sync"
    assert double(2) == 4 and Doubler().double_sync(3) == 6

    async def notebook_cell() -> int:  # asyncio.run would raise here
        return double(5) + Doubler().double_sync(1)

    assert asyncio.run(notebook_cell()) == 12

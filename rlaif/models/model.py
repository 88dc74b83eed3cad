"""The :class:`Model` every other layer talks to: a backend wrapped in the response cache,
retries, concurrency and rate limits, pricing and usage accounting."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from rlaif.models.base import Backend, BackendError, CapabilityError
from rlaif.models.batch import BatchQueue
from rlaif.models.cache import ResponseCache, cache_key, open_cache
from rlaif.models.dry_run import current_estimator
from rlaif.models.limits import AdaptiveLimiter, RateLimiter
from rlaif.models.registry import create_backend
from rlaif.models.retry import RetryPolicy
from rlaif.models.spec import ModelSpec
from rlaif.models.types import (
    ChoiceScores,
    Completion,
    Conversation,
    GenerateConfig,
    validate_conversation,
)
from rlaif.models.usage import Usage, report_usage, track

__all__ = ["Model", "ModelSpec", "Usage", "get_model"]

T = TypeVar("T")
Answer = TypeVar("Answer", Completion, ChoiceScores)
P = ParamSpec("P")


def _backend_trait(name: str, doc: str) -> Any:
    """A read-only property of :class:`Model` that reads ``name`` from its backend."""
    return property(lambda model: getattr(model.backend, name), doc=doc)


class Model:
    """A backend with the cross-cutting behaviour every caller needs: response cache, retries,
    an adaptive in-flight limit, request/token rate limits, cost and usage accounting."""

    def __init__(self, backend: Backend, spec: ModelSpec, cache: ResponseCache | None = None):
        self.backend = backend
        self.spec = spec
        self.usage = Usage()
        self.limiter = AdaptiveLimiter(spec.max_concurrency or backend.default_max_concurrency)
        self.rate = RateLimiter(spec.requests_per_minute, spec.tokens_per_minute)
        self.retry_policy = RetryPolicy(
            spec.max_retries, spec.retry_base_delay_s, spec.retry_max_delay_s
        )
        self._cache = cache
        self._identity: dict[str, Any] | None = None
        self.batch = BatchQueue(self) if spec.batch else None
        """The requests deferred to the provider's batch API (``batch: true``), else ``None``."""
        track(self)

    def __repr__(self) -> str:
        return f"Model({self.name!r})"

    @property
    def name(self) -> str:
        """The ``provider/model`` name."""
        return self.spec.name

    supports_choice_logprobs = _backend_trait(
        "supports_choice_logprobs",
        "Whether verdicts can be read from log-probabilities in one forward pass.",
    )

    supports_json_schema = _backend_trait(
        "supports_json_schema", "Whether structured (JSON-schema) output is honoured."
    )

    runs_locally = _backend_trait(
        "runs_locally", "Whether the model runs on this machine rather than behind an API."
    )

    supports_prefill = _backend_trait(
        "supports_prefill", "Whether a final assistant turn is continued rather than rejected."
    )

    @property
    def cache(self) -> ResponseCache | None:
        """The response cache in use, or ``None`` when the spec turns it off."""
        enabled = (
            self.spec.cache
            if "cache" in self.spec.model_fields_set
            else self.backend.caches_by_default
        )
        if not enabled:
            return None
        if self._cache is None:
            self._cache = open_cache()
        return self._cache

    async def generate(
        self, conversation: Conversation, config: GenerateConfig | None = None
    ) -> Completion:
        """Generate the next assistant turn (a final assistant message is a prefill).

        Answers from the cache when the same request was made before; sampled requests
        (temperature > 0) are cached only when they carry a seed, so that ``k`` unseeded samples
        stay ``k`` different samples. In batch mode a request not in the cache is queued for
        the provider's batch API and :class:`~rlaif.models.batch.Deferred` raised (the jobs
        catch it; see :mod:`rlaif.models.batch`)."""
        if self.batch is None:
            return await self._generate(conversation, config)
        with self.batch.in_flight():
            return await self._generate(conversation, config)

    async def _generate(
        self, conversation: Conversation, config: GenerateConfig | None
    ) -> Completion:
        conversation = self._checked(conversation)
        config = config or GenerateConfig()
        request = {"conversation": conversation, "config": config.model_dump(mode="json")}
        cacheable = config.temperature == 0 or config.seed is not None
        key = await self._key("generate", request) if cacheable else None
        hit = self._stored_answer(key, Completion)
        if hit is not None:
            return hit
        estimator = current_estimator()
        if estimator is not None:  # a dry run: counted, not sent
            return estimator.generate(self, conversation, config)
        if self.batch is not None and key is not None:
            self.batch.intercept(key, "generate", conversation, config=config)
        completion, elapsed = await self._call(lambda: self.backend.generate(conversation, config))
        completion.latency_s = completion.latency_s or elapsed
        if completion.cost_usd is None:
            completion.cost_usd = self.spec.cost(
                completion.input_tokens,
                completion.output_tokens,
                completion.cache_read_tokens,
                completion.cache_write_tokens,
            )
        completion.model = self.name
        self._account(completion, key, "generate", ends_attempt=True)
        return completion

    async def score_choices(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        """Log-probability of each choice as the next tokens, with token counts, cost and the
        cache flag (what a judgment record stores); deferred in batch mode like
        :meth:`generate`."""
        if self.batch is None:
            return await self._score_choices(conversation, choices)
        with self.batch.in_flight():
            return await self._score_choices(conversation, choices)

    async def _score_choices(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        conversation = self._checked(conversation)
        choices = list(choices)
        if not choices or len(set(choices)) != len(choices):
            raise ValueError(f"choices must be distinct and non-empty, got {choices!r}")
        if not self.backend.supports_choice_logprobs:
            raise CapabilityError(f"{self.name} cannot score choices; use generate-and-parse")
        key = await self._key("choices", {"conversation": conversation, "choices": choices})
        hit = self._stored_answer(key, ChoiceScores)
        if hit is not None:
            return hit
        estimator = current_estimator()
        if estimator is not None:
            return estimator.score(self, conversation, choices)
        if self.batch is not None and key is not None:
            self.batch.intercept(key, "choices", conversation, choices=choices)
        scores, elapsed = await self._call(
            lambda: self.backend.score_choices(conversation, choices)
        )
        scores.latency_s = scores.latency_s or elapsed
        if scores.cost_usd is None:
            scores.cost_usd = self.spec.cost(scores.input_tokens, scores.output_tokens)
        scores.model = self.name
        self._account(scores, key, "choices", ends_attempt=True)
        return scores

    async def choice_logprobs(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        """Log-probability of each choice as the next tokens (one forward pass)."""
        return (await self.score_choices(conversation, choices)).logprobs

    def generate_sync(
        self, conversation: Conversation, config: GenerateConfig | None = None
    ) -> Completion:
        """Blocking :meth:`generate`, for scripts and notebooks (works inside a running loop)."""
        return run_sync(self._then_release(self.generate(conversation, config)))

    def choice_logprobs_sync(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        """Blocking :meth:`choice_logprobs`."""
        return run_sync(self._then_release(self.choice_logprobs(conversation, choices)))

    def score_choices_sync(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        """Blocking :meth:`score_choices`."""
        return run_sync(self._then_release(self.score_choices(conversation, choices)))

    async def _then_release(self, call: Awaitable[T]) -> T:
        try:
            return await call
        finally:
            await self.backend.release_connections()

    async def aclose(self) -> None:
        """Release the backend's resources."""
        await self.backend.aclose()

    async def __aenter__(self) -> Model:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _checked(self, conversation: Conversation) -> Conversation:
        conversation = validate_conversation(conversation)
        if conversation[-1]["role"] == "assistant" and not self.backend.supports_prefill:
            raise CapabilityError(
                f"{self.name} cannot continue a final assistant turn (prefill); "
                "end the conversation with a user turn"
            )
        return conversation

    async def _key(self, kind: str, request: dict[str, Any]) -> str | None:
        if self.cache is None:
            return None
        if self._identity is None:
            # Resolving a local model may hash or convert files: keep it off the event loop.
            self._identity = await asyncio.to_thread(self.backend.cache_identity)
        return cache_key(self._identity, kind, request)

    def _lookup(self, key: str | None) -> dict[str, Any] | None:
        cache = self.cache
        return None if key is None or cache is None else cache.get(key)

    def _stored_answer(self, key: str | None, kind: type[Answer]) -> Answer | None:
        """The answer the response cache holds under ``key``, as a counted cache hit (no
        latency, free), or ``None``."""
        stored = self._lookup(key)
        if stored is None:
            return None
        answer = kind.model_validate(stored)
        return self._hit(
            answer.model_copy(update={"cached": True, "latency_s": 0.0, "cost_usd": self._free()})
        )

    def _hit(self, hit: Answer) -> Answer:
        """Count a cache hit (in a dry run, as a call that costs nothing) and return it."""
        estimator = current_estimator()
        if estimator is not None:
            estimator.cached(self)
        else:
            self._count(hit)
        return hit

    def _free(self) -> float | None:
        return 0.0 if self.spec.is_priced else None

    def store_result(self, result: Completion | ChoiceScores, key: str, kind: str) -> bool:
        """Store and count the answer a provider batch gave to the request cached under ``key``,
        priced at batch rates; returns ``False`` (and counts nothing) when it is stored already
        (a rerun reading the same batch results again)."""
        if self._lookup(key) is not None:
            return False
        if result.cost_usd is None:
            cache_read = getattr(result, "cache_read_tokens", 0)
            cache_write = getattr(result, "cache_write_tokens", 0)
            result.cost_usd = self.spec.cost(
                result.input_tokens, result.output_tokens, cache_read, cache_write, batch=True
            )
        result.model = self.name
        self._account(result, key, kind)
        return True

    def _account(
        self,
        result: Completion | ChoiceScores,
        key: str | None,
        kind: str,
        *,
        ends_attempt: bool = False,
    ) -> None:
        # Cached before it is counted or used: once a call has been paid, a kill from here on
        # cannot make a rerun pay for it again. Until then its attempt stays in flight
        # (``ends_attempt``: the answer of an attempt :meth:`_call` counted as sent).
        cache = self.cache
        if key is not None and cache is not None:
            cache.put(key, self.name, kind, result.model_dump(mode="json"))
        self._count(result, in_flight=-1 if ends_attempt else 0)
        self.rate.record_tokens(result.input_tokens + result.output_tokens)

    def _count(self, result: Completion | ChoiceScores | None = None, **events: int) -> None:
        """Add a result (or counted ``events``: ``errors=1``, ...) to the usage and report it
        to the usage observers (a run's journal)."""
        delta = Usage(**events)
        if result is not None:
            delta.add(result)
        self.usage.merge(delta)
        report_usage(self.name, delta)

    async def _call(self, attempt: Callable[[], Awaitable[T]]) -> tuple[T, float]:
        """Run ``attempt`` under the limits, retrying retryable failures; returns the result
        and the seconds the successful attempt took. Each attempt is counted ``in_flight`` as it
        is sent; a failed one ends with its retry or error, a successful one when the caller
        stores its answer (:meth:`_account`)."""
        policy = self.retry_policy
        for retry_number in range(policy.max_retries + 1):
            try:
                async with self.limiter:
                    await self.rate.wait()
                    start = time.perf_counter()
                    self._count(in_flight=1)  # journalled before the request leaves
                    try:
                        result = await attempt()
                    except BackendError:
                        raise  # the attempt ends with the retry or error counted below
                    except BaseException:
                        self._count(in_flight=-1)  # cancelled, or a bug: ended, not counted
                        raise
                    elapsed = time.perf_counter() - start
            except BackendError as error:
                if error.status == 429:
                    self.limiter.record_rate_limited()
                if error.abandoned:
                    # A client-side timeout: the server may still be running the request, so
                    # it keeps its place in the in-flight limit until it would have finished.
                    self.limiter.hold(getattr(self.backend, "timeout_s", 0.0))
                    self._count(abandoned=1)
                if not error.retryable or retry_number == policy.max_retries:
                    self._count(errors=1, in_flight=-1)
                    if retry_number:
                        raise type(error)(
                            f"{error} (gave up after {retry_number + 1} attempts)",
                            retryable=error.retryable,
                            status=error.status,
                            retry_after=error.retry_after,
                        ) from error
                    raise
                self._count(retries=1, in_flight=-1)
                await asyncio.sleep(policy.delay(retry_number, error))
                continue
            self.limiter.record_success()
            return result, elapsed
        raise AssertionError("unreachable: the last attempt returns or raises")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code, also where an event loop is
    already running (a notebook): then it runs on a fresh loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def blocking(coroutine_function: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The blocking twin of ``coroutine_function``: the same parameters, run to completion with
    :func:`run_sync` (so it also works inside a running event loop). It is named by the project's
    rule: ``run_x`` for a function ``run_x_async``, ``x_sync`` for a method ``x``.

        run_generate = blocking(run_generate_async)
        compare_sync = blocking(compare)   # in a class body
    """
    name = coroutine_function.__name__
    twin = name.removesuffix("_async") if name.endswith("_async") else f"{name}_sync"

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(coroutine_function(*args, **kwargs))

    call.__name__ = twin
    call.__qualname__ = coroutine_function.__qualname__.removesuffix(name) + twin
    call.__module__ = coroutine_function.__module__
    role = "meth" if "." in coroutine_function.__qualname__ else "func"
    call.__doc__ = f"Blocking :{role}:`{name}` (also inside a running event loop)."
    call.__signature__ = inspect.signature(coroutine_function)  # type: ignore[attr-defined]
    return call


def get_model(name: str | ModelSpec, **options: Any) -> Model:
    """Create a model from ``"provider/model"`` (options are ModelSpec fields or backend options)
    or from a :class:`ModelSpec`."""
    base: dict[str, Any] = {}
    if isinstance(name, ModelSpec):
        base = {field: getattr(name, field) for field in name.model_fields_set}
        name = name.name
    spec_fields = {k: v for k, v in options.items() if k in ModelSpec.model_fields}
    backend_options = {k: v for k, v in options.items() if k not in ModelSpec.model_fields}
    spec = ModelSpec.model_validate(
        {
            **base,
            **spec_fields,
            "name": name,
            "options": {**base.get("options", {}), **backend_options},
        }
    )
    backend_options = dict(spec.options)
    if spec.base_url is not None:
        backend_options.setdefault("base_url", spec.base_url)
    if spec.api_key_env is not None:
        backend_options.setdefault("api_key_env", spec.api_key_env)
    return Model(create_backend(spec.name, **backend_options), spec)

"""The :class:`Model` every other layer talks to: a backend plus concurrency limits, pricing and
usage accounting around it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rlaif.models.base import Backend
from rlaif.models.registry import create_backend
from rlaif.models.types import Completion, Conversation, GenerateConfig


class ModelSpec(BaseModel):
    """One entry of a ``models:`` YAML section: which model and how to call it."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str
    """``provider/model``: ``hf/<path-or-hub-id>``, ``openai/<model>``, ``anthropic/<model>``,
    ``fake/<script>``."""
    base_url: str | None = None
    """Endpoint for OpenAI-compatible servers (vLLM, SGLang, llama.cpp, ``transformers serve``)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (the key itself is never stored)."""
    max_concurrency: int = Field(default=8, ge=1)
    """Most requests in flight at once."""
    requests_per_minute: float | None = Field(default=None, gt=0)
    """Request rate limit (none by default)."""
    tokens_per_minute: float | None = Field(default=None, gt=0)
    """Token rate limit (none by default)."""
    price_input_per_million: float | None = Field(default=None, ge=0)
    """US dollars per million input tokens, for cost accounting."""
    price_output_per_million: float | None = Field(default=None, ge=0)
    """US dollars per million output tokens."""
    cache: bool = True
    """Store and reuse responses so that a rerun never pays twice for the same call."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Backend-specific options (device, dtype, ...)."""

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """Price of a call in US dollars, or ``None`` when the model is not priced."""
        if self.price_input_per_million is None and self.price_output_per_million is None:
            return None
        return (
            input_tokens * (self.price_input_per_million or 0.0)
            + output_tokens * (self.price_output_per_million or 0.0)
        ) / 1e6


@dataclass
class Usage:
    """Running totals for one model."""

    calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0

    def add(self, completion: Completion) -> None:
        """Count one completion."""
        if completion.cached:
            self.cache_hits += 1
            return
        self.calls += 1
        self.input_tokens += completion.input_tokens
        self.output_tokens += completion.output_tokens
        self.cost_usd += completion.cost_usd or 0.0
        self.seconds += completion.latency_s


class Model:
    """A backend with the cross-cutting behaviour every caller needs."""

    def __init__(self, backend: Backend, spec: ModelSpec):
        self.backend = backend
        self.spec = spec
        self.usage = Usage()
        self._semaphore: asyncio.Semaphore | None = None

    @property
    def name(self) -> str:
        """The ``provider/model`` name."""
        return self.spec.name

    @property
    def supports_choice_logprobs(self) -> bool:
        """Whether verdicts can be read from log-probabilities in one forward pass."""
        return self.backend.supports_choice_logprobs

    @property
    def supports_json_schema(self) -> bool:
        """Whether structured (JSON-schema) output is honoured."""
        return self.backend.supports_json_schema

    def _limit(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.spec.max_concurrency)
        return self._semaphore

    async def generate(
        self, conversation: Conversation, config: GenerateConfig | None = None
    ) -> Completion:
        """Generate the next assistant turn (a final assistant message is a prefill)."""
        config = config or GenerateConfig()
        async with self._limit():
            start = time.perf_counter()
            completion = await self.backend.generate(conversation, config)
        completion.latency_s = completion.latency_s or time.perf_counter() - start
        if completion.cost_usd is None:
            completion.cost_usd = self.spec.cost(completion.input_tokens, completion.output_tokens)
        completion.model = self.name
        self.usage.add(completion)
        return completion

    async def choice_logprobs(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        """Log-probability of each choice as the next tokens (one forward pass)."""
        async with self._limit():
            return await self.backend.choice_logprobs(conversation, list(choices))

    def generate_sync(
        self, conversation: Conversation, config: GenerateConfig | None = None
    ) -> Completion:
        """Blocking :meth:`generate`, for scripts and notebooks."""
        return asyncio.run(self.generate(conversation, config))

    def choice_logprobs_sync(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        """Blocking :meth:`choice_logprobs`."""
        return asyncio.run(self.choice_logprobs(conversation, choices))

    async def aclose(self) -> None:
        """Release the backend's resources."""
        await self.backend.aclose()


def get_model(name: str | ModelSpec, **options: Any) -> Model:
    """Create a model from ``"provider/model"`` (options are ModelSpec fields or backend options)
    or from a :class:`ModelSpec`."""
    if isinstance(name, ModelSpec):
        spec = name
    else:
        spec_fields = {k: v for k, v in options.items() if k in ModelSpec.model_fields}
        backend_options = {k: v for k, v in options.items() if k not in ModelSpec.model_fields}
        spec = ModelSpec(name=name, **spec_fields, options=backend_options)
    backend_options = dict(spec.options)
    if spec.base_url is not None:
        backend_options.setdefault("base_url", spec.base_url)
    if spec.api_key_env is not None:
        backend_options.setdefault("api_key_env", spec.api_key_env)
    return Model(create_backend(spec.name, **backend_options), spec)

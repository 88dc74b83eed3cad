""":class:`ModelSpec`: one entry of a ``models:`` YAML section — which model and how to call it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_SHAPES_OUTPUT: dict[str, Any] = {"shapes_output": True}
"""Field marker: the setting changes what the model returns (part of a pipeline stage's hash)."""
_RUNTIME_ONLY: dict[str, Any] = {"shapes_output": False}
"""Field marker: the setting changes how (or how cheaply) calls are made, not what they return."""


class ModelSpec(BaseModel):
    """Which model and how to call it. In YAML either a mapping of these fields or just the name
    (``judge: openai/gpt-4o-mini``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str = Field(json_schema_extra=_SHAPES_OUTPUT)
    """``provider/model``: ``hf/<path-or-hub-id-or-catalog-name>``, ``openai/<model>``,
    ``anthropic/<model>``, ``fake/<script>``."""
    base_url: str | None = Field(default=None, json_schema_extra=_SHAPES_OUTPUT)
    """Endpoint for OpenAI-compatible servers (vLLM, SGLang, llama.cpp, ``transformers serve``)."""
    api_key_env: str | None = Field(default=None, json_schema_extra=_SHAPES_OUTPUT)
    """Name of the environment variable holding the API key (the key itself is never stored)."""
    max_concurrency: int | None = Field(default=None, ge=1, json_schema_extra=_RUNTIME_ONLY)
    """Most requests in flight at once (default: the backend's, 8 for APIs, 32 for ``hf``)."""
    requests_per_minute: float | None = Field(default=None, gt=0, json_schema_extra=_RUNTIME_ONLY)
    """Request rate limit (none by default)."""
    tokens_per_minute: float | None = Field(default=None, gt=0, json_schema_extra=_RUNTIME_ONLY)
    """Token rate limit (none by default)."""
    price_input_per_million: float | None = Field(
        default=None, ge=0, json_schema_extra=_RUNTIME_ONLY
    )
    """US dollars per million input tokens, for cost accounting."""
    price_output_per_million: float | None = Field(
        default=None, ge=0, json_schema_extra=_RUNTIME_ONLY
    )
    """US dollars per million output tokens."""
    price_cache_read_per_million: float | None = Field(
        default=None, ge=0, json_schema_extra=_RUNTIME_ONLY
    )
    """US dollars per million input tokens read from the provider's prompt cache (default: the
    input price)."""
    price_cache_write_per_million: float | None = Field(
        default=None, ge=0, json_schema_extra=_RUNTIME_ONLY
    )
    """US dollars per million input tokens written to the provider's prompt cache (default: the
    input price)."""
    batch_price_factor: float = Field(default=0.5, gt=0, le=1, json_schema_extra=_RUNTIME_ONLY)
    """Share of the synchronous prices a provider batch (OpenAI Batch API, Anthropic Message
    Batches) is billed at: both bill half. Every batch cost is priced here, by :meth:`cost`."""
    batch: bool = Field(default=False, json_schema_extra=_RUNTIME_ONLY)
    """Send the calls a job makes through the provider's batch API (``openai/`` and
    ``anthropic/``; see :mod:`rlaif.models.batch`): about half the price, results within the
    provider's completion window instead of at once."""
    batch_retry: Literal["fail", "sync", "batch"] = Field(
        default="fail", json_schema_extra=_RUNTIME_ONLY
    )
    """What becomes of a request a batch returned as failed or expired: ``fail`` records the
    item as a failed call, ``sync`` sends it again synchronously, ``batch`` in a new batch."""
    batch_poll_s: float = Field(default=30.0, gt=0, json_schema_extra=_RUNTIME_ONLY)
    """First wait between two polls of a submitted batch; it grows by half up to ten times this."""
    cache: bool = Field(default=True, json_schema_extra=_RUNTIME_ONLY)
    """Store and reuse responses so that a rerun never pays twice for the same call (``fake``
    models cache only when this is set explicitly)."""
    max_retries: int = Field(default=5, ge=0, json_schema_extra=_RUNTIME_ONLY)
    """Retries after a retryable failure (connection error, timeout, 408/409/429/5xx)."""
    retry_base_delay_s: float = Field(default=1.0, ge=0, json_schema_extra=_RUNTIME_ONLY)
    """First backoff in seconds; it doubles with each retry (with jitter)."""
    retry_max_delay_s: float = Field(default=60.0, ge=0, json_schema_extra=_RUNTIME_ONLY)
    """Longest single wait between attempts, a server's ``Retry-After`` included."""
    options: dict[str, Any] = Field(default_factory=dict, json_schema_extra=_SHAPES_OUTPUT)
    """Backend-specific options (``device``, ``dtype``, ``timeout_s``, ...; see docs/models.md)."""

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @classmethod
    def runtime_only_fields(cls) -> frozenset[str]:
        """Fields that change how (or how cheaply) calls are made, not what they return: a
        pipeline stage is not rerun when only these change."""
        return frozenset(
            name
            for name, field in cls.model_fields.items()
            if isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get("shapes_output") is False
        )

    @property
    def is_priced(self) -> bool:
        """Whether any price is set."""
        return self.price_input_per_million is not None or self.price_output_per_million is not None

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        *,
        batch: bool = False,
    ) -> float | None:
        """Price of a call in US dollars, or ``None`` when the model is not priced.
        ``input_tokens`` includes the cache-read and cache-write tokens; ``batch``: the call
        was made in a provider batch (billed at :attr:`batch_price_factor` of these prices)."""
        if not self.is_priced:
            return None
        price_in = self.price_input_per_million or 0.0
        price_read = (
            price_in
            if self.price_cache_read_per_million is None
            else self.price_cache_read_per_million
        )
        price_write = (
            price_in
            if self.price_cache_write_per_million is None
            else self.price_cache_write_per_million
        )
        plain_input = max(0, input_tokens - cache_read_tokens - cache_write_tokens)
        factor = self.batch_price_factor if batch else 1.0
        return (
            factor
            * (
                plain_input * price_in
                + cache_read_tokens * price_read
                + cache_write_tokens * price_write
                + output_tokens * (self.price_output_per_million or 0.0)
            )
            / 1e6
        )

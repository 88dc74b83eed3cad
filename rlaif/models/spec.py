""":class:`ModelSpec`: one entry of a ``models:`` YAML section — which model and how to call it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ModelSpec(BaseModel):
    """Which model and how to call it. In YAML either a mapping of these fields or just the name
    (``judge: openai/gpt-4o-mini``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str
    """``provider/model``: ``hf/<path-or-hub-id-or-catalog-name>``, ``openai/<model>``,
    ``anthropic/<model>``, ``fake/<script>``."""
    base_url: str | None = None
    """Endpoint for OpenAI-compatible servers (vLLM, SGLang, llama.cpp, ``transformers serve``)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (the key itself is never stored)."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Most requests in flight at once (default: the backend's, 8 for APIs, 32 for ``hf``)."""
    requests_per_minute: float | None = Field(default=None, gt=0)
    """Request rate limit (none by default)."""
    tokens_per_minute: float | None = Field(default=None, gt=0)
    """Token rate limit (none by default)."""
    price_input_per_million: float | None = Field(default=None, ge=0)
    """US dollars per million input tokens, for cost accounting."""
    price_output_per_million: float | None = Field(default=None, ge=0)
    """US dollars per million output tokens."""
    price_cache_read_per_million: float | None = Field(default=None, ge=0)
    """US dollars per million input tokens read from the provider's prompt cache (default: the
    input price)."""
    price_cache_write_per_million: float | None = Field(default=None, ge=0)
    """US dollars per million input tokens written to the provider's prompt cache (default: the
    input price)."""
    cache: bool = True
    """Store and reuse responses so that a rerun never pays twice for the same call (``fake``
    models cache only when this is set explicitly)."""
    max_retries: int = Field(default=5, ge=0)
    """Retries after a retryable failure (connection error, timeout, 408/409/429/5xx)."""
    retry_base_delay_s: float = Field(default=1.0, ge=0)
    """First backoff in seconds; it doubles with each retry (with jitter)."""
    retry_max_delay_s: float = Field(default=60.0, ge=0)
    """Longest single wait between attempts, a server's ``Retry-After`` included."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Backend-specific options (``device``, ``dtype``, ``timeout_s``, ...; see docs/models.md)."""

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

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
    ) -> float | None:
        """Price of a call in US dollars, or ``None`` when the model is not priced.
        ``input_tokens`` includes the cache-read and cache-write tokens."""
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
        return (
            plain_input * price_in
            + cache_read_tokens * price_read
            + cache_write_tokens * price_write
            + output_tokens * (self.price_output_per_million or 0.0)
        ) / 1e6

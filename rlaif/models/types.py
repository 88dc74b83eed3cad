"""Value types shared by every backend: conversations, generation settings and completions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Message = dict[str, str]
"""One chat turn: ``{"role": "system" | "user" | "assistant", "content": str}``."""
Conversation = list[Message]
"""A list of chat turns. A final ``assistant`` turn is a prefill: the model continues it."""


class GenerateConfig(BaseModel):
    """Sampling settings for one generation. Every field is part of the response-cache key."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature; 0 means greedy decoding."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling: keep the smallest token set with this cumulative probability."""
    max_tokens: int = Field(default=512, ge=1)
    """Most new tokens to generate."""
    stop: list[str] = Field(default_factory=list)
    """Strings that end generation (not included in the output)."""
    seed: int | None = None
    """Seed for sampling, where the backend supports one."""
    json_schema: dict[str, Any] | None = None
    """Ask for JSON output matching this schema, where the backend supports structured output."""


class Completion(BaseModel):
    """The result of one generation."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    text: str
    """The generated text (without a prefill the caller supplied)."""
    input_tokens: int = 0
    """Prompt tokens billed or processed."""
    output_tokens: int = 0
    """Generated tokens."""
    finish_reason: Literal["stop", "length", "content_filter", "error", "unknown"] = "unknown"
    """Why generation ended: a stop condition, the token limit, a provider filter, ..."""
    latency_s: float = 0.0
    """Wall-clock seconds the backend call took (0 for a cache hit)."""
    cost_usd: float | None = None
    """Price of the call in US dollars when the model is priced, else ``None``."""
    cached: bool = False
    """True when this completion came from the response cache (no model call was made)."""
    model: str = ""
    """The ``provider/model`` name that produced it."""

"""Value types shared by every backend: conversations, generation settings and completions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rlaif.errors import RlaifError

ROLES = ("system", "user", "assistant")
"""The message roles every backend understands."""


def check_message(message: dict[str, str]) -> dict[str, str]:
    """Check that ``message`` holds exactly a known ``role`` and a ``content``; raises
    ``ValueError`` naming what is wrong (pydantic reports it with the field's location)."""
    unknown = sorted(set(message) - {"role", "content"})
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (a message has role and content)")
    if "content" not in message:
        raise ValueError("missing content")
    if message.get("role") not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {message.get('role')!r}")
    return message


Message = Annotated[dict[str, str], AfterValidator(check_message)]
"""One chat turn: ``{"role": "system" | "user" | "assistant", "content": str}``, the one message
type of the package. A plain dict at run time; pydantic fields of this type check its keys and
role."""
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
    cache_read_tokens: int = 0
    """Input tokens served from the provider's prompt cache (part of ``input_tokens``)."""
    cache_write_tokens: int = 0
    """Input tokens written to the provider's prompt cache (part of ``input_tokens``)."""


class ChoiceScores(BaseModel):
    """The result of one :meth:`~rlaif.models.Model.score_choices` call: log-probabilities of
    each choice as the next tokens, with the accounting a :class:`Completion` carries."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    logprobs: dict[str, float]
    """Log-probability of each choice string as the next tokens of the assistant turn. A choice
    the backend could not see (outside a server's top-k) is ``-inf``."""
    input_tokens: int = 0
    """Prompt tokens processed."""
    output_tokens: int = 0
    """Tokens generated (0 for a local forward pass; 1 for an API call that samples one)."""
    latency_s: float = 0.0
    """Wall-clock seconds the backend call took (0 for a cache hit)."""
    cost_usd: float | None = None
    """Price of the call in US dollars when the model is priced, else ``None``."""
    cached: bool = False
    """True when the scores came from the response cache."""
    model: str = ""
    """The ``provider/model`` name that produced them."""


class ConversationError(RlaifError):
    """A conversation is malformed (not a list of ``{"role", "content"}`` turns)."""


def validate_conversation(conversation: Any) -> Conversation:
    """Check that ``conversation`` is a non-empty list of chat turns with known roles and string
    content; raises :class:`ConversationError` naming the first bad turn."""
    if not isinstance(conversation, list) or not conversation:
        raise ConversationError("a conversation must be a non-empty list of chat turns")
    for index, message in enumerate(conversation):
        if not isinstance(message, dict):
            raise ConversationError(f"turn {index} is {type(message).__name__}, not a dict")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ConversationError(f"turn {index} has role {role!r}; expected one of {ROLES}")
        if not isinstance(content, str):
            raise ConversationError(f"turn {index} ({role}) content must be a string")
    if all(m["role"] == "system" for m in conversation):
        raise ConversationError("a conversation needs at least one user or assistant turn")
    return conversation

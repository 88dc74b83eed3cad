"""``anthropic/<model>``: the Anthropic Messages API through the official async client.

System turns become the ``system`` parameter. Prompt caching: ``cache_control`` breakpoints mark
the end of the system prompt and the end of the turns before the final user turn (a
constitution's few-shot examples), the prefix that repeats across calls; reads and writes are
reported in the completion and priced by the model spec. No logprobs: the judge generates and
parses. The current API takes no temperature/top_p/seed for recent models, so they are sent only
with ``sampling_params=True`` (for older models that accept them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlaif.models.base import BackendError, CapabilityError
from rlaif.models.providers.sdk_clients import SDKBackend
from rlaif.models.registry import register_backend
from rlaif.models.retry import sdk_errors
from rlaif.models.types import ChoiceScores, Completion, Conversation, GenerateConfig

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
}
_EPHEMERAL = {"type": "ephemeral"}


@register_backend("anthropic")
class AnthropicBackend(SDKBackend):
    """Claude models.

    Options: ``api_key_env`` (default ``ANTHROPIC_API_KEY``) or ``api_key``, ``base_url``,
    ``timeout_s`` (600), ``prompt_caching`` (True), ``sampling_params`` (False: send
    temperature/top_p/seed)."""

    base_url_env = "ANTHROPIC_BASE_URL"
    api_key_env_default = "ANTHROPIC_API_KEY"
    identity_options = ("base_url", "sampling_params")
    supports_choice_logprobs = False
    supports_json_schema = True
    supports_prefill = True
    default_max_concurrency = 4

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        prompt_caching: bool = True,
        sampling_params: bool = False,
        **options: Any,
    ):
        self.reject_unknown_options(model, options)
        super().__init__(model)
        self.connect(
            base_url=base_url, api_key=api_key, api_key_env=api_key_env, timeout_s=timeout_s
        )
        self.prompt_caching = prompt_caching
        self.sampling_params = sampling_params

    def sdk_client_class(self) -> Any:
        import anthropic

        return anthropic.AsyncAnthropic

    def build_request(self, conversation: Conversation, config: GenerateConfig) -> dict[str, Any]:
        """The keyword arguments of ``messages.create`` for this conversation."""
        system = "\n\n".join(m["content"] for m in conversation if m["role"] == "system")
        turns = [m for m in conversation if m["role"] != "system"]
        messages: list[dict[str, Any]] = []
        for index, turn in enumerate(turns):
            text = turn["content"]
            if index == len(turns) - 1 and turn["role"] == "assistant":
                text = text.rstrip()  # the API rejects a prefill ending in whitespace
            block: dict[str, Any] = {"type": "text", "text": text}
            messages.append({"role": turn["role"], "content": [block]})
        if self.prompt_caching and len(messages) > 1:
            # Everything before the final turn repeats across calls of one stage.
            messages[-2]["content"][-1]["cache_control"] = _EPHEMERAL
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": config.max_tokens,
            "messages": messages,
        }
        if system:
            block = {"type": "text", "text": system}
            if self.prompt_caching:
                block["cache_control"] = _EPHEMERAL
            request["system"] = [block]
        if config.stop:
            request["stop_sequences"] = list(config.stop)
        if config.json_schema is not None:
            request["output_config"] = {
                "format": {"type": "json_schema", "schema": config.json_schema}
            }
        if self.sampling_params:
            extra: dict[str, Any] = {"temperature": config.temperature}
            if config.top_p < 1.0:
                extra["top_p"] = config.top_p
            request["extra_body"] = extra
        return request

    async def generate(self, conversation: Conversation, config: GenerateConfig) -> Completion:
        import anthropic

        with sdk_errors("anthropic", anthropic):
            raw = await self._clients.get().messages.with_raw_response.create(
                **self.build_request(conversation, config)
            )
        return self.completion_from(await _message_from(raw, anthropic))

    def completion_from(self, response: Any) -> Completion:
        """The :class:`Completion` in a ``Message``."""
        text = "".join(
            getattr(block, "text", "") for block in response.content if block.type == "text"
        )
        usage = response.usage
        cache_read = usage.cache_read_input_tokens or 0
        cache_write = usage.cache_creation_input_tokens or 0
        return Completion(
            text=text,
            input_tokens=usage.input_tokens + cache_read + cache_write,
            output_tokens=usage.output_tokens,
            finish_reason=_FINISH.get(response.stop_reason or "", "unknown"),
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
        )

    def batch_line(
        self,
        custom_id: str,
        conversation: Conversation,
        config: GenerateConfig | None,
        choices: Sequence[str] | None,
    ) -> dict[str, Any]:
        """One request of a Message Batch: the parameters the synchronous call would send."""
        if config is None:
            raise CapabilityError(f"{self.name} cannot score choices; use generate-and-parse")
        params = self.build_request(conversation, config)
        params.update(params.pop("extra_body", {}))
        return {"custom_id": custom_id, "params": params}

    def batch_result(
        self, body: dict[str, Any], choices: Sequence[str] | None
    ) -> Completion | ChoiceScores:
        """The result of a succeeded batch request whose ``body`` is a message."""
        import anthropic

        if not isinstance(body.get("content"), list):
            raise BackendError(f"{self.name} batch result has no message", retryable=False)
        return self.completion_from(anthropic.types.Message.construct(**body))


async def _message_from(raw: Any, anthropic: Any) -> Any:
    """The ``Message`` in a 200 response, or a retryable :class:`BackendError` naming the
    status, content type and the start of the body when it is not one (HTML from a proxy, a
    body cut short)."""
    try:
        message = await raw.parse()
    except ValueError:  # JSON cut short
        message = None
    if isinstance(message, anthropic.types.Message) and isinstance(message.content, list):
        return message
    http = raw.http_response
    raise BackendError(
        f"anthropic returned HTTP {http.status_code} with no message "
        f"({http.headers.get('content-type', 'no content-type')}): {http.text[:200]!r}",
        retryable=True,
    )

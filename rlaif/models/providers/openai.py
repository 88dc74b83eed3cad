"""``openai/<model>``: the OpenAI API, or any OpenAI-compatible server through ``base_url``
(vLLM, SGLang, llama.cpp server, ``transformers serve``).

Uses the official ``openai`` async client with its own retries off (ours apply). Verdict scoring
asks for one token with ``top_logprobs``; a server that returns no logprobs is detected on the first
such call and the capability reported absent from then on. JSON-schema structured output is sent
as ``response_format`` when a request carries a schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, cast

from rlaif.models.base import BackendError, CapabilityError
from rlaif.models.providers.sdk_clients import SDKBackend
from rlaif.models.registry import register_backend
from rlaif.models.retry import sdk_errors
from rlaif.models.types import ChoiceScores, Completion, Conversation, GenerateConfig

_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


@register_backend("openai")
class OpenAIBackend(SDKBackend):
    """OpenAI chat completions.

    Options: ``base_url``; ``api_key_env`` (default ``OPENAI_API_KEY``; a local server needs
    none) or ``api_key`` (the key itself); ``timeout_s`` (600); ``logprobs`` (``None`` = detect,
    ``False`` = never ask); ``top_logprobs`` (20); ``json_schema`` (True: send ``response_format``);
    ``continue_final_message`` (False: set it for vLLM/SGLang servers to continue an assistant
    prefill); ``extra_body`` (dict sent with every request)."""

    base_url_env = "OPENAI_BASE_URL"
    api_key_env_default = "OPENAI_API_KEY"
    key_optional_with_base_url = True
    identity_options = ("base_url", "extra_body")
    supports_choice_logprobs = True
    supports_json_schema = True
    supports_prefill = False
    default_max_concurrency = 8

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        logprobs: bool | None = None,
        top_logprobs: int = 20,
        json_schema: bool = True,
        continue_final_message: bool = False,
        extra_body: dict[str, Any] | None = None,
        **options: Any,
    ):
        self.reject_unknown_options(model, options)
        super().__init__(model)
        self.connect(
            base_url=base_url, api_key=api_key, api_key_env=api_key_env, timeout_s=timeout_s
        )
        self.top_logprobs = top_logprobs
        self.json_schema_enabled = json_schema
        self.supports_json_schema = json_schema
        self.supports_prefill = continue_final_message
        self.extra_body = dict(extra_body or {})
        if logprobs is False:
            self.supports_choice_logprobs = False

    def sdk_client_class(self) -> Any:
        import openai

        return openai.AsyncOpenAI

    async def _create(self, **request: Any) -> dict[str, Any]:
        import httpx2
        import openai

        body = self.full_body(request)
        try:
            # The client's generic post skips create()'s per-field parameter transformation
            # (a third of the client CPU per request); the JSON sent is the same. The raw
            # response is read here so that a 200 with an unreadable body becomes a retryable
            # error saying what came back, not a JSONDecodeError.
            with sdk_errors("openai", openai):
                response = await self._clients.get().post(
                    "/chat/completions", cast_to=httpx2.Response, body=body
                )
                text = (await response.aread()).decode("utf-8", errors="replace")
        except httpx2.HTTPError as error:  # the body broke off after the headers
            raise BackendError(f"openai connection failed: {error}", retryable=True) from error
        return self._completion_from(response, text)

    def _completion_from(self, response: Any, text: str) -> dict[str, Any]:
        """The chat completion in a 200 response, as the decoded JSON (read field by field with
        :func:`_field`: building the SDK's model of it cost a sixth of a millisecond a call), or
        a retryable :class:`BackendError` naming the status, content type and the start of the
        body when it is not one."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        choices = data.get("choices") if isinstance(data, dict) else None
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            return cast(dict[str, Any], data)
        problem = "no choices" if isinstance(choices, list) else "not a chat completion"
        content_type = response.headers.get("content-type", "no content-type")
        raise BackendError(
            f"{self.name} at {self.base_url or 'api.openai.com'} returned HTTP "
            f"{response.status_code} with {problem} ({content_type}): {text[:200]!r}",
            retryable=True,
        )

    def _token_limit(self, tokens: int) -> dict[str, int]:
        # The OpenAI API wants max_completion_tokens; many compatible servers know only max_tokens.
        return {"max_tokens" if self.base_url else "max_completion_tokens": tokens}

    def generate_request(
        self, conversation: Conversation, config: GenerateConfig
    ) -> dict[str, Any]:
        """The chat-completions parameters (model and ``extra_body`` aside) of a generation."""
        request: dict[str, Any] = {
            "messages": conversation,
            "temperature": config.temperature,
            "top_p": config.top_p,
            **self._token_limit(config.max_tokens),
        }
        if config.stop:
            request["stop"] = list(config.stop)
        if config.seed is not None:
            request["seed"] = config.seed
        if config.json_schema is not None and self.json_schema_enabled:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": config.json_schema, "strict": True},
            }
        return request

    def choices_request(self, conversation: Conversation) -> dict[str, Any]:
        """The chat-completions parameters of a verdict scored from one token's logprobs."""
        return {
            "messages": conversation,
            "temperature": 0.0,
            "logprobs": True,
            "top_logprobs": self.top_logprobs,
            **self._token_limit(1),
        }

    def full_body(self, request: dict[str, Any]) -> dict[str, Any]:
        """The JSON body sent to ``/chat/completions`` for ``request``."""
        extra_body = dict(self.extra_body)
        if request["messages"][-1]["role"] == "assistant":
            extra_body.update(continue_final_message=True, add_generation_prompt=False)
        return {"model": self.model, **request, **extra_body}

    async def generate(self, conversation: Conversation, config: GenerateConfig) -> Completion:
        return self.completion_from(
            await self._create(**self.generate_request(conversation, config))
        )

    def completion_from(self, response: dict[str, Any]) -> Completion:
        """The :class:`Completion` in a chat completion (its decoded JSON)."""
        choice = response["choices"][0]
        usage = _field(response, "usage")
        return Completion(
            text=_field(choice, "message", "content") or "",
            input_tokens=_field(usage, "prompt_tokens") or 0,
            output_tokens=_field(usage, "completion_tokens") or 0,
            finish_reason=_FINISH.get(_field(choice, "finish_reason") or "", "unknown"),
            cache_read_tokens=_field(usage, "prompt_tokens_details", "cached_tokens") or 0,
        )

    async def score_choices(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        if not self.supports_choice_logprobs:
            raise CapabilityError(f"{self.name} returns no logprobs; use generate-and-parse")
        response = await self._create(**self.choices_request(conversation))
        return self.scores_from(response, choices)

    def scores_from(self, response: dict[str, Any], choices: Sequence[str]) -> ChoiceScores:
        """The :class:`ChoiceScores` in a chat completion (its decoded JSON) asked for logprobs;
        a response without any turns the capability off and raises :class:`CapabilityError`."""
        content = _field(response["choices"][0], "logprobs", "content")
        top_logprobs = _field(content[0], "top_logprobs") if isinstance(content, list) else None
        if not content or not isinstance(top_logprobs, list) or not top_logprobs:
            self.supports_choice_logprobs = False
            raise CapabilityError(
                f"{self.name} at {self.base_url or 'api.openai.com'} returned no logprobs; "
                "use generate-and-parse"
            )
        top = [
            (str(entry.get("token", "")), float(entry["logprob"]))
            for entry in top_logprobs
            if isinstance(entry, dict) and isinstance(entry.get("logprob"), int | float)
        ]
        usage = _field(response, "usage")
        return ChoiceScores(
            logprobs={choice: first_token_logprob(top, choice) for choice in choices},
            input_tokens=_field(usage, "prompt_tokens") or 0,
            output_tokens=_field(usage, "completion_tokens") or 0,
        )

    def batch_line(
        self,
        custom_id: str,
        conversation: Conversation,
        config: GenerateConfig | None,
        choices: Sequence[str] | None,
    ) -> dict[str, Any]:
        """One line of a Batch API input file: the request the synchronous call would send."""
        request = (
            self.generate_request(conversation, config)
            if config is not None
            else self.choices_request(conversation)
        )
        return {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": self.full_body(request),
        }

    def batch_result(
        self, body: dict[str, Any], choices: Sequence[str] | None
    ) -> Completion | ChoiceScores:
        """The result of a batch line whose response ``body`` is a chat completion (read as the
        synchronous call's answer would be)."""
        listed = body.get("choices")
        if not isinstance(listed, list) or not listed or not isinstance(listed[0], dict):
            raise BackendError(f"{self.name} batch result has no choices", retryable=False)
        return self.completion_from(body) if choices is None else self.scores_from(body, choices)

    async def choice_logprobs(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        return (await self.score_choices(conversation, choices)).logprobs


def _field(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or ``None`` where a level is missing or not an object."""
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def first_token_logprob(top: Sequence[tuple[str, float]], choice: str) -> float:
    """Log-probability that the first token spells ``choice`` (surrounding whitespace ignored;
    variants such as ``"A"`` and ``" A"`` are summed). ``-inf`` when it is not among the
    server's top tokens: its probability is below the smallest one listed."""
    wanted = choice.strip()
    matches = [logprob for token, logprob in top if token.strip() == wanted]
    if not matches:
        return -math.inf
    peak = max(matches)
    return peak + math.log(sum(math.exp(m - peak) for m in matches))

"""The backend interface: one required async method, one optional capability.

A backend implements :meth:`Backend.generate`. Backends that can score a fixed set of answer strings
in a single forward pass set ``supports_choice_logprobs = True`` and implement
:meth:`Backend.choice_logprobs`; the judge then reads verdicts from log-probabilities instead of
generating and parsing text.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rlaif.errors import ConfigError, RlaifError, redact
from rlaif.models.types import ChoiceScores, Completion, Conversation, GenerateConfig


class CapabilityError(RlaifError):
    """The backend does not offer the requested capability."""


class BackendError(RlaifError):
    """A backend call failed; ``retryable`` says whether trying again may help, ``abandoned``
    that the request may still be running server-side (a client-side timeout). The message is
    redacted (:func:`rlaif.errors.redact`): provider text that echoes a key never gets through."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
        abandoned: bool = False,
    ):
        super().__init__(redact(message))
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.abandoned = abandoned


class AuthenticationError(BackendError):
    """The provider refused the credentials (HTTP 401 or 403). No later call can succeed, so a
    job stops at once instead of recording every item as failed; never caught per item."""


class Backend(ABC):
    """A model provider. Subclasses are registered by provider name (``hf``, ``openai``, ...).

    Capabilities are class attributes; a backend that only finds out at run time (an
    OpenAI-compatible server that returns no logprobs) overrides them on the instance."""

    provider: ClassVar[str] = ""
    """The provider prefix of model names this backend serves."""
    supports_choice_logprobs: bool = False
    """Whether :meth:`choice_logprobs` is available."""
    supports_json_schema: bool = False
    """Whether ``GenerateConfig.json_schema`` is honoured."""
    supports_prefill: bool = True
    """Whether a final assistant turn is continued (a prefill) rather than rejected."""
    runs_locally: ClassVar[bool] = False
    """Whether the model runs on this machine (a local Hugging Face or embedded model) rather
    than behind an API; ``auto`` judge modes differ (see :func:`rlaif.judge.modes.auto_choice`)."""
    default_max_concurrency: ClassVar[int] = 8
    """Requests in flight at once when the model spec does not say."""
    caches_by_default: ClassVar[bool] = True
    """Whether responses are cached when the model spec does not say."""
    runtime_options: ClassVar[frozenset[str]] = frozenset()
    """Options that change how calls are made (timeouts, batch sizes), never what they return:
    a resumed run may change them."""

    def __init__(self, model: str, **options: Any):
        self.model = model
        self.options = options

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The options this backend accepts: its constructor's keyword-only parameters."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)

    @classmethod
    def reject_unknown_options(cls, model: str, options: Mapping[str, Any]) -> None:
        """Raise :class:`ConfigError` naming ``options`` (left over by the constructor) and the
        accepted ones, unless there are none."""
        if options:
            raise ConfigError(
                f"unknown option(s) for {cls.provider}/{model}: {', '.join(sorted(options))}; "
                f"accepted: {', '.join(cls.option_names())}"
            )

    @classmethod
    def check_credentials(cls, name: str, options: Mapping[str, Any]) -> None:
        """Raise :class:`~rlaif.errors.ConfigError` when ``name`` with these options could not
        be created for want of credentials (an API key), without creating it (nothing loaded,
        no network); backends that need none accept everything."""
        return None

    @property
    def name(self) -> str:
        """The full ``provider/model`` name."""
        return f"{self.provider}/{self.model}"

    def cache_identity(self) -> dict[str, Any]:
        """Everything besides the request that determines the output (for the cache key).
        Never include secrets."""
        return {"provider": self.provider, "model": self.model}

    @abstractmethod
    async def generate(self, conversation: Conversation, config: GenerateConfig) -> Completion:
        """Generate the next assistant turn for ``conversation``."""

    async def choice_logprobs(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        """Log-probability of each choice string as the next tokens of the assistant turn."""
        raise CapabilityError(f"{self.name} cannot score choices; use generate-and-parse")

    async def score_choices(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        """:meth:`choice_logprobs` with token counts; backends that know them override this."""
        return ChoiceScores(
            logprobs=await self.choice_logprobs(conversation, choices), model=self.name
        )

    async def release_connections(self) -> None:
        """Close network clients bound to the running event loop (called at the end of each
        blocking ``*_sync`` call, whose loop is about to close)."""
        return None

    async def aclose(self) -> None:
        """Release clients, connections or memory held by the backend."""
        await self.release_connections()

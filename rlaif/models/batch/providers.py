"""The two providers' batch endpoints through their official SDKs: the OpenAI Batch API
(``/v1/files`` + ``/v1/batches``, a JSONL input file of ``/v1/chat/completions`` requests, output
and error files) and Anthropic Message Batches (``/v1/messages/batches``, a JSONL results file).
Each is reached with the backend's own client (its key, ``base_url`` and timeout), so batches go
wherever the synchronous calls would. :mod:`rlaif.models.batch` decides what to send."""

from __future__ import annotations

import datetime
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from rlaif.errors import ConfigError
from rlaif.models.base import Backend
from rlaif.models.retry import sdk_errors

T = TypeVar("T")

BatchResult = tuple[str, dict[str, Any] | None, str | None]
"""One result line: the custom id, the response body of a success (else ``None``) and the
error of a failure (else ``None``)."""


@dataclass
class BatchStatus:
    """Where a submitted batch stands."""

    state: str
    """The provider's status word (``in_progress``, ``completed``, ``ended``, ``expired``, ...)."""
    ended: bool
    """Whether it will change no more (results can be read)."""
    submitted: int
    """Requests in it."""
    done: int
    """Requests answered."""
    failed: int
    """Requests that failed, expired or were cancelled."""
    expires_at: float | None
    """When the provider gives up on what is left (seconds since the epoch)."""

    @property
    def in_progress(self) -> int:
        """Requests not answered yet."""
        return max(0, self.submitted - self.done - self.failed)

    def describe(self, model: str, batch_id: str) -> str:
        """The progress line printed while polling."""
        expires = (
            datetime.datetime.fromtimestamp(self.expires_at, datetime.UTC).strftime(
                "%Y-%m-%d %H:%M UTC"
            )
            if self.expires_at
            else "-"
        )
        return (
            f"batch {batch_id} ({model}, {self.state}): {self.submitted} submitted · "
            f"{self.in_progress} in progress · {self.done} done · {self.failed} failed · "
            f"expires {expires}"
        )


class ProviderBatches(ABC):
    """Submit, find, poll and read the batches of one backend."""

    sdk: str
    """The SDK module's name (for mapping its errors)."""

    def __init__(self, backend: Any):
        self.backend = backend

    def client(self) -> Any:
        """The backend's SDK client for the running loop."""
        return self.backend._clients.get()

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one SDK call, its errors mapped to :class:`BackendError`."""
        with sdk_errors(self.sdk, __import__(self.sdk)):
            return await make()

    @abstractmethod
    async def submit(self, lines: list[dict[str, Any]], token: str) -> str:
        """Create a batch of ``lines`` (tagged with ``token`` where the API allows); its id."""

    @abstractmethod
    async def find(self, token: str) -> str | None:
        """The id of a batch created earlier with ``token``, if the API can tell."""

    @abstractmethod
    async def status(self, batch_id: str) -> BatchStatus:
        """Where the batch stands."""

    @abstractmethod
    def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        """Every result of an ended batch."""


class OpenAIBatches(ProviderBatches):
    """OpenAI Batch API."""

    sdk = "openai"
    _ENDED = frozenset({"completed", "failed", "expired", "cancelled"})

    async def submit(self, lines: list[dict[str, Any]], token: str) -> str:
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        client = self.client()
        uploaded = await self.call(
            lambda: client.files.create(
                file=("rlaif-batch.jsonl", data, "application/jsonl"), purpose="batch"
            )
        )
        batch = await self.call(
            lambda: client.batches.create(
                input_file_id=uploaded.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
                metadata={"rlaif_token": token},
            )
        )
        return str(batch.id)

    async def find(self, token: str) -> str | None:
        client = self.client()
        page = await self.call(lambda: client.batches.list(limit=100))
        for batch in page.data:
            if (batch.metadata or {}).get("rlaif_token") == token:
                return str(batch.id)
        return None

    async def status(self, batch_id: str) -> BatchStatus:
        client = self.client()
        batch = await self.call(lambda: client.batches.retrieve(batch_id))
        counts = batch.request_counts
        return BatchStatus(
            state=batch.status,
            ended=batch.status in self._ENDED,
            submitted=counts.total if counts else 0,
            done=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            expires_at=batch.expires_at,
        )

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        client = self.client()
        batch = await self.call(lambda: client.batches.retrieve(batch_id))
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self.call(partial(client.files.content, file_id))
            for text in content.text.splitlines():
                if text.strip():
                    yield _openai_line(json.loads(text), batch.status)
        if batch.status == "failed" and batch.errors and batch.errors.data:
            # A batch refused as a whole (invalid input): no line has a result.
            return


def _openai_line(line: dict[str, Any], state: str) -> BatchResult:
    custom_id = str(line.get("custom_id"))
    response = line.get("response") or {}
    error = line.get("error")
    if response.get("status_code") == 200 and not error:
        return custom_id, response.get("body") or {}, None
    if error:
        code = error.get("code") or "error"
        message = f"{code}: {error.get('message') or ''}".rstrip(": ")
        if code == "batch_expired":
            message = f"expired: {error.get('message') or 'the batch expired first'}"
        return custom_id, None, message
    body = response.get("body") or {}
    detail = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
    return custom_id, None, f"HTTP {response.get('status_code')}: {detail or body}"


class AnthropicBatches(ProviderBatches):
    """Anthropic Message Batches."""

    sdk = "anthropic"

    async def submit(self, lines: list[dict[str, Any]], token: str) -> str:
        client = self.client()
        batch = await self.call(lambda: client.messages.batches.create(requests=lines))
        return str(batch.id)

    async def find(self, token: str) -> str | None:
        return None  # a message batch carries no metadata to search by

    async def status(self, batch_id: str) -> BatchStatus:
        client = self.client()
        batch = await self.call(lambda: client.messages.batches.retrieve(batch_id))
        counts = batch.request_counts
        failed = counts.errored + counts.canceled + counts.expired
        total = counts.processing + counts.succeeded + failed
        expires = batch.expires_at.timestamp() if batch.expires_at else None
        return BatchStatus(
            state=batch.processing_status,
            ended=batch.processing_status == "ended",
            submitted=total,
            done=counts.succeeded,
            failed=failed,
            expires_at=expires,
        )

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        client = self.client()
        decoder = await self.call(lambda: client.messages.batches.results(batch_id))
        async for line in decoder:
            result = line.result
            if result.type == "succeeded":
                yield line.custom_id, result.message.model_dump(mode="json"), None
            elif result.type == "errored":
                inner = getattr(result.error, "error", None)
                message = getattr(inner, "message", None) or str(result.error)
                yield line.custom_id, None, f"errored: {message}"
            else:  # canceled, expired
                yield line.custom_id, None, f"{result.type}: the batch ended first"


_PROVIDERS: dict[str, type[ProviderBatches]] = {
    "openai": OpenAIBatches,
    "anthropic": AnthropicBatches,
}


def provider_batches(backend: Backend) -> ProviderBatches:
    """The batch endpoints of ``backend``'s provider; :class:`ConfigError` for one without."""
    kind = _PROVIDERS.get(backend.provider)
    if kind is None or not hasattr(backend, "batch_line"):
        raise ConfigError(
            f"{backend.name} has no batch API: batch is for openai/ and anthropic/ models"
        )
    return kind(backend)

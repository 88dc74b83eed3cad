"""Retries, implemented once for every backend (the SDKs' own retries are switched off).

Connection errors, timeouts, 408, 409, 429 and 5xx (529 "overloaded" included) are retried with
exponential backoff and jitter, honouring a server's ``Retry-After`` up to a cap; 400, 401, 403,
404, 422 and any other status fail at once with the provider's message; 401 and 403 raise
:class:`~rlaif.models.base.AuthenticationError`, which stops the whole job.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rlaif.models.base import AuthenticationError, BackendError

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""Client-side statuses worth another try (every 5xx is too)."""
AUTHENTICATION_STATUS = frozenset({401, 403})
"""Statuses that mean the credentials are refused: the job stops."""


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status means "try again later"."""
    return status in RETRYABLE_STATUS or 500 <= status <= 599


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def error_from_status(
    provider: str,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> BackendError:
    """A :class:`BackendError` for an HTTP error response, classified for retrying (an
    :class:`AuthenticationError` for 401 and 403)."""
    if status in AUTHENTICATION_STATUS:
        return AuthenticationError(
            f"{provider} returned HTTP {status}: {message} (the credentials were refused, so "
            "the run stops: check the API key and its permissions)",
            status=status,
        )
    return BackendError(
        f"{provider} returned HTTP {status}: {message}",
        retryable=is_retryable_status(status),
        status=status,
        retry_after=parse_retry_after(headers),
    )


def error_from_sdk(provider: str, error: Exception, sdk: Any) -> BackendError | None:
    """Map an ``openai`` / ``anthropic`` SDK exception (both share one shape) to a
    :class:`BackendError`; ``None`` when it is not an API error. The message names the server
    the request went to (``openai at http://127.0.0.1:8000/v1/chat/completions``), so an error
    from a local server is not mistaken for one from the provider's own API."""
    where = _with_url(provider, error)
    if isinstance(error, sdk.APIStatusError):
        response = getattr(error, "response", None)
        headers = dict(response.headers) if response is not None else None
        return error_from_status(where, error.status_code, _sdk_message(error), headers)
    if isinstance(error, sdk.APITimeoutError):
        # The server may still be working on it: the in-flight limit keeps counting it a while.
        return BackendError(f"{where}: request timed out", retryable=True, abandoned=True)
    if isinstance(error, sdk.APIConnectionError):
        return BackendError(f"{where}: connection failed: {error}", retryable=True)
    return None


@contextlib.contextmanager
def sdk_errors(provider: str, sdk: Any) -> Iterator[None]:
    """Raise the ``openai`` / ``anthropic`` SDK's API errors met inside the block as the
    :class:`BackendError` :func:`error_from_sdk` maps them to; other errors pass unchanged."""
    try:
        yield
    except sdk.APIError as error:
        mapped = error_from_sdk(provider, error, sdk)
        if mapped is None:
            raise
        raise mapped from error


def _with_url(provider: str, error: Exception) -> str:
    """``provider at URL`` for an SDK error that carries its request (user info and query string
    left out: they may hold a key), else ``provider``."""
    try:
        url = urllib.parse.urlsplit(str(error.request.url))  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError for an unset request
        return provider
    port = f":{url.port}" if url.port else ""
    return f"{provider} at {url.scheme}://{url.hostname}{port}{url.path}"


def _sdk_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(body.get("detail"), str):
            return body["detail"]
    return str(getattr(error, "message", error))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait between attempts."""

    max_retries: int = 5
    """Retries after the first attempt (so at most ``max_retries + 1`` attempts)."""
    base_delay_s: float = 1.0
    """The first backoff; it doubles with every retry."""
    max_delay_s: float = 60.0
    """Cap on one wait, ``Retry-After`` included."""

    def delay(self, retry_number: int, error: BackendError) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based)."""
        if error.retry_after is not None:
            return min(error.retry_after, self.max_delay_s)
        backoff = min(self.max_delay_s, self.base_delay_s * 2**retry_number)
        # Jitter spreads the retries of many concurrent callers apart.
        return backoff * random.uniform(0.5, 1.0)


def http_client(timeout_s: float) -> Any:
    """The HTTP client handed to the SDKs: a plain ``httpx2.AsyncClient``, so that a client left
    behind by a finished event loop is simply dropped (the SDKs' own wrapper schedules its
    closing on whichever loop runs next, which fails)."""
    import httpx2

    return httpx2.AsyncClient(
        timeout=timeout_s,
        limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=256),
        follow_redirects=True,
    )

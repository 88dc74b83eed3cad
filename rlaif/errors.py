"""Exceptions that mean "the user can fix this": the CLI prints them as one message and exits 2;
and :func:`redact`, which keeps API keys out of every stored or printed error."""

from __future__ import annotations

import re


class RlaifError(Exception):
    """Base class for errors caused by user input or configuration rather than by a bug."""


class ConfigError(RlaifError):
    """A configuration value is missing, malformed or inconsistent."""


REDACTED = "[REDACTED]"
"""What a secret is replaced with in stored and printed error text."""

_SECRET_PATTERNS = (
    # Provider keys: OpenAI (sk-..., sk-proj-...), Anthropic (sk-ant-...).
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    # Authorization headers and key-shaped parameters, the value only.
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(r"(?i)(\b(?:x-)?api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]{4,}"),
)
_known_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` (a configured API key) so that :func:`redact` removes it wherever it
    appears. Short values (under 8 characters) are ignored: they are placeholders, not keys."""
    if secret and len(secret) >= 8:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret and anything shaped like a key (``sk-...``,
    ``sk-ant-...``, ``Bearer <token>``, ``api_key=...``, ``x-api-key: ...``) replaced by
    :data:`REDACTED`. Applied where backend errors are built and again where errors are
    written or printed."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text

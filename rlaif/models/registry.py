"""Backends registered by provider name, and :func:`get_model`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from rlaif.errors import ConfigError
from rlaif.models.base import Backend

_BACKENDS: dict[str, type[Backend]] = {}
_BUILTIN_MODULES = {
    "fake": "rlaif.models.fake",
    "hf": "rlaif.models.hf",
    "openai": "rlaif.models.openai_backend",
    "anthropic": "rlaif.models.anthropic_backend",
}

B = TypeVar("B", bound=type[Backend])


def register_backend(provider: str) -> Callable[[B], B]:
    """Class decorator registering a backend under ``provider`` (the part before the slash)."""

    def decorator(cls: B) -> B:
        cls.provider = provider
        _BACKENDS[provider] = cls
        return cls

    return decorator


def split_name(name: str) -> tuple[str, str]:
    """``"openai/gpt-4o-mini"`` → ``("openai", "gpt-4o-mini")``."""
    provider, sep, model = name.partition("/")
    if not sep or not provider or not model:
        raise ConfigError(
            f"model name {name!r} must look like 'provider/model' "
            f"(providers: {', '.join(sorted(set(_BACKENDS) | set(_BUILTIN_MODULES)))})"
        )
    return provider, model


def backend_class(provider: str) -> type[Backend]:
    """The backend class for ``provider``, importing its module (and SDK) only now."""
    if provider not in _BACKENDS and provider in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[provider])
    if provider not in _BACKENDS:
        known = ", ".join(sorted(set(_BACKENDS) | set(_BUILTIN_MODULES)))
        raise ConfigError(f"unknown model provider {provider!r}; known providers: {known}")
    return _BACKENDS[provider]


def create_backend(name: str, **options: Any) -> Backend:
    """Instantiate the backend serving ``provider/model``."""
    provider, model = split_name(name)
    return backend_class(provider)(model, **options)

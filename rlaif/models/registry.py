"""Backends registered by provider name, and :func:`get_model`.

A provider is served by a built-in backend (``fake``, ``hf``, ``openai``, ``anthropic``), by a
class decorated with :func:`register_backend` in code that has run, or by an installed package
through an entry point in the ``rlaif.backends`` group (:data:`ENTRY_POINT_GROUP`), named after
the provider and pointing at its :class:`~rlaif.models.base.Backend` subclass::

    [project.entry-points."rlaif.backends"]
    mylab = "my_package.backend:MyLabBackend"

so that ``get_model("mylab/some-model")`` works with no change to rlaif.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import ValidationError

from rlaif.config import describe_validation_error
from rlaif.errors import ConfigError
from rlaif.models.base import Backend
from rlaif.models.spec import ModelSpec

_BACKENDS: dict[str, type[Backend]] = {}
_BUILTIN_MODULES = {
    "fake": "rlaif.models.providers.fake",
    "hf": "rlaif.models.providers.hf",
    "openai": "rlaif.models.providers.openai",
    "anthropic": "rlaif.models.providers.anthropic",
}

ENTRY_POINT_GROUP = "rlaif.backends"
"""The entry-point group through which an installed package adds a provider: the entry's name is
the provider, its value a :class:`~rlaif.models.base.Backend` subclass."""

B = TypeVar("B", bound=type[Backend])


def _installed_providers() -> dict[str, Any]:
    """The entry points of installed packages' providers, by provider name."""
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def _known_providers() -> str:
    names = set(_BACKENDS) | set(_BUILTIN_MODULES) | set(_installed_providers())
    return ", ".join(sorted(names))


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
            f"model name {name!r} must look like 'provider/model' (providers: {_known_providers()})"
        )
    return provider, model


def backend_class(provider: str) -> type[Backend]:
    """The backend class for ``provider``, importing its module (and SDK) only now: a built-in
    one, or an installed package's (:data:`ENTRY_POINT_GROUP`)."""
    if provider not in _BACKENDS and provider in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[provider])
    if provider not in _BACKENDS:
        installed = _installed_providers().get(provider)
        if installed is not None:
            loaded = installed.load()
            if not (isinstance(loaded, type) and issubclass(loaded, Backend)):
                raise ConfigError(
                    f"entry point {provider!r} ({installed.value}) in {ENTRY_POINT_GROUP} is "
                    "not a rlaif.models.Backend subclass"
                )
            register_backend(provider)(loaded)
    if provider not in _BACKENDS:
        raise ConfigError(
            f"unknown model provider {provider!r}; known providers: {_known_providers()}"
        )
    return _BACKENDS[provider]


def create_backend(name: str, **options: Any) -> Backend:
    """Instantiate the backend serving ``provider/model``."""
    provider, model = split_name(name)
    return backend_class(provider)(model, **options)


def check_model_options(name: str, options: Mapping[str, Any]) -> None:
    """Check, without creating the backend (nothing loaded, no network), that ``name`` is a
    ``provider/model`` of a known provider and that every key of ``options`` is a
    :class:`ModelSpec` field or an option of that backend, with a valid value for the fields
    (what :func:`get_model` takes); raises one :class:`ConfigError` naming the accepted ones.
    Option names are checked for the built-in providers; a registered plug-in backend checks its
    own when it is created."""
    provider, model = split_name(name)
    cls = backend_class(provider)
    spec_fields = set(ModelSpec.model_fields) - {"name", "options"}
    unknown = sorted(key for key in options if key not in spec_fields | set(cls.option_names()))
    if unknown and provider in _BUILTIN_MODULES:  # a plug-in backend checks its own when created
        accepted = ", ".join(sorted(spec_fields | set(cls.option_names())))
        raise ConfigError(
            f"unknown option(s) for {name}: {', '.join(unknown)}; accepted: {accepted}"
        )
    given = {key: value for key, value in options.items() if key in spec_fields}
    try:
        ModelSpec.model_validate({**given, "name": name})
    except ValidationError as error:
        problems = describe_validation_error(error, ModelSpec, show_values=True)
        raise ConfigError(f"option(s) for {provider}/{model}: {problems}") from None


def check_credentials(name: str, options: Mapping[str, Any]) -> None:
    """Check, without creating the backend (nothing loaded, no network), that ``name`` with
    ``options`` (ModelSpec fields and backend options, as :func:`get_model` takes them) has the
    credentials it needs: an API model's key, unless a dry run is in progress. Raises the
    :class:`ConfigError` creating the model would raise. Lets a job with several models refuse
    before the first one is called, not after."""
    provider, _ = split_name(name)
    nested = options.get("options")
    merged = {**(nested if isinstance(nested, Mapping) else {}), **options}
    backend_class(provider).check_credentials(name, merged)


def output_shaping_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` without those that only change how calls are made (timeouts, concurrency,
    prices, retries, batch sizes): what a resumed run must share with the first one."""
    runtime = ModelSpec.runtime_only_fields() | backend_class(split_name(name)[0]).runtime_options
    return {key: value for key, value in options.items() if key not in runtime}

"""What the remote backends (``openai/``, ``anthropic/``) share: the API key from the
environment, the SDK client, and one client per event loop (an HTTP connection pool belongs to
the loop that opened it, so a blocking call, a fresh loop each time, must not reuse another
loop's client)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rlaif.errors import ConfigError, register_secret
from rlaif.models.base import Backend
from rlaif.models.dry_run import current_estimator
from rlaif.models.retry import http_client


class LoopClients:
    """Makes the client of the running event loop on first use (with ``make``) and drops the
    clients of loops that are gone."""

    def __init__(self, make: Callable[[], Any]):
        self._make = make
        self._clients: dict[int, Any] = {}

    def get(self) -> Any:
        """The running loop's client."""
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients = {loop: self._make()}
        return self._clients[loop]

    async def close(self) -> None:
        """Close every client made so far (one whose loop has closed is just dropped)."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            with contextlib.suppress(RuntimeError):  # its loop may have closed
                await client.close()


class SDKBackend(Backend):
    """A backend reached through a provider's official async SDK, with the SDK's own retries
    off (ours apply). Subclasses name their key variable and SDK client class, and call
    :meth:`connect` from their constructor."""

    api_key_env_default: ClassVar[str]
    """The environment variable that holds the key unless ``api_key_env`` names another."""
    key_optional_with_base_url: ClassVar[bool] = False
    """Whether a local server (``base_url`` given) may be reached without a key."""
    base_url_env: ClassVar[str]
    """The environment variable the SDK reads the server URL from when none is given (read here
    too, so that the cache key and error messages name the server really used)."""
    identity_options: ClassVar[tuple[str, ...]] = ("base_url",)
    """Attributes besides provider and model that change the output (for the cache key)."""
    runtime_options: ClassVar[frozenset[str]] = frozenset({"timeout_s", "api_key"})
    """``api_key`` is among them so that a key given as an option never reaches a manifest."""

    def connect(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        api_key_env: str | None,
        timeout_s: float,
    ) -> None:
        """Find the key (the given one, else the environment's) and prepare the per-loop
        clients; raises :class:`ConfigError` naming the variable when there is no key."""
        self.base_url = base_url or os.environ.get(self.base_url_env) or None
        self.timeout_s = timeout_s
        variable = api_key_env or self.api_key_env_default
        self._api_key = api_key or os.environ.get(variable)
        register_secret(self._api_key)  # redacted from every error from now on
        if not self._api_key:
            given = {"api_key": api_key, "api_key_env": api_key_env, "base_url": base_url}
            problem = self.missing_key(self.name, given)
            if problem is not None:
                raise ConfigError(problem)
            self._api_key = "not-needed"  # a local server, or a dry run that sends nothing
        self.http_client_factory: Callable[[float], Any] | None = None
        """Makes the ``httpx2.AsyncClient`` (given the timeout) to use instead of ours (tests
        replay recorded traffic through it)."""
        self._clients = LoopClients(self._make_client)

    @classmethod
    def missing_key(cls, name: str, options: Mapping[str, Any]) -> str | None:
        """What is wrong when ``name`` has no API key (the ``api_key`` of ``options``, else the
        environment's, from the variable ``api_key_env`` names), or ``None`` when it has one or
        needs none: a local server (``base_url``, where the provider allows one without a key),
        or a dry run, which sends nothing (:func:`~rlaif.models.dry_run.estimating`). Reads only
        ``options`` and the environment."""
        variable = options.get("api_key_env") or cls.api_key_env_default
        if options.get("api_key") or os.environ.get(variable) or current_estimator() is not None:
            return None
        server = options.get("base_url") or os.environ.get(cls.base_url_env) or None
        if cls.key_optional_with_base_url and server is not None:
            return None
        local = (
            " (or give base_url for a local OpenAI-compatible server)"
            if cls.key_optional_with_base_url
            else ""
        )
        return f"{name} needs an API key: set {variable}{local}"

    @classmethod
    def check_credentials(cls, name: str, options: Mapping[str, Any]) -> None:
        problem = cls.missing_key(name, options)
        if problem is not None:
            raise ConfigError(problem)

    @abstractmethod
    def sdk_client_class(self) -> Callable[..., Any]:
        """The SDK's async client class (imported on first use)."""

    def cache_identity(self) -> dict[str, Any]:
        return {
            **super().cache_identity(),
            **{name: getattr(self, name) for name in self.identity_options},
        }

    def _make_client(self) -> Any:
        return self.sdk_client_class()(
            api_key=self._api_key,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.timeout_s,
            http_client=(self.http_client_factory or http_client)(self.timeout_s),
        )

    async def release_connections(self) -> None:
        await self._clients.close()

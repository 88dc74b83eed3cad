"""The SDK clients of the remote backends, one per event loop: an HTTP connection pool belongs
to the loop that opened it, so a blocking call (a fresh loop each time) must not reuse another
loop's client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


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

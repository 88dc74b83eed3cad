"""Micro-batching: requests that arrive while the model is busy are run together.

Callers ``await batcher.submit(group, item)``; items of the same group (for instance the same
generation settings) queue up, and one worker runs them ``max_batch_size`` at a time in a thread,
so the event loop stays free and a batch starts as soon as the previous one ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class MicroBatcher(Generic[Item, Result]):
    """Groups concurrent requests into batches run one after another in a worker thread.

    ``run_batch(group, items)`` returns one result, or the exception for that item, per item."""

    def __init__(
        self,
        run_batch: Callable[[Hashable, list[Item]], Sequence[Result | BaseException]],
        max_batch_size: int = 16,
        collect_s: float = 0.002,
    ):
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.collect_s = collect_s
        self.batch_sizes: list[int] = []
        self._pending: dict[Hashable, list[tuple[Item, asyncio.Future[Result]]]] = {}
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, group: Hashable, item: Item) -> Result:
        """Queue ``item`` in ``group`` and wait for its result."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (each generate_sync call has its own): the old one is gone.
            self._pending.clear()
            self._worker, self._loop = None, loop
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.setdefault(group, []).append((item, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # Give callers started together a moment to queue before the first batch is cut.
        await asyncio.sleep(self.collect_s)
        while self._pending:
            group = next(iter(self._pending))
            queued = self._pending.pop(group)
            batch, rest = queued[: self.max_batch_size], queued[self.max_batch_size :]
            if rest:
                self._pending[group] = rest
            batch = [(item, future) for item, future in batch if not future.done()]
            if not batch:
                continue
            self.batch_sizes.append(len(batch))
            try:
                results = await asyncio.to_thread(
                    self.run_batch, group, [item for item, _ in batch]
                )
            except Exception as error:
                results = [error] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

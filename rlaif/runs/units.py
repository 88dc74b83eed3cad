"""The resumable, ordered, concurrent loop behind ``rlaif generate``, ``critique`` and ``label``.

Work is split into units (a prompt, or a pair); each unit knows the ids of the records it will
write. Units whose ids are all in the output (or its side file of skipped items) are not run
again. Units run ``concurrency`` at a time, but their records are written strictly in input
order, so an interrupted and resumed run leaves exactly the file an uninterrupted run would. A
worker that raises (workers record per-item failures instead, so this means the run cannot go
on, e.g. refused credentials) stops the others, and the error reaches the caller. A unit whose
model deferred a call to a provider batch (:class:`~rlaif.models.batch.Deferred`) writes nothing
and stays pending for the job's next pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rlaif.models.batch import Deferred
from rlaif.runs.progress import RunProgress
from rlaif.runs.sink import Outputs, Sink


@dataclass
class Unit:
    """One piece of work and the ids of the records it writes."""

    ids: list[str]
    """Record ids this unit produces (in the main file or the skipped file)."""
    payload: Any
    """What the worker needs (a prompt record, a pair, ...)."""


Worker = Callable[[Unit], Awaitable[Outputs]]
"""Turns one unit into its outputs (failures become skipped records, not exceptions)."""


async def run_units(
    units: Sequence[Unit],
    work: Worker,
    sink: Sink,
    *,
    concurrency: int,
    bar: RunProgress,
) -> int:
    """Run the units not yet done and write their outputs in input order; returns how many
    units were already done."""
    pending = [unit for unit in units if not sink.done(unit.ids)]
    already = len(units) - len(pending)
    bar.advance(already)
    results: dict[int, Outputs] = {}
    next_index = 0
    queue = iter(enumerate(pending))

    def flush() -> None:
        nonlocal next_index
        while next_index in results:
            sink.emit(results.pop(next_index))
            next_index += 1
            bar.advance()

    async def worker() -> None:
        for index, unit in queue:
            try:
                results[index] = await work(unit)
            except Deferred:  # waiting for a provider batch: nothing written, still pending
                results[index] = Outputs()
            flush()

    workers = [
        asyncio.ensure_future(worker()) for _ in range(max(1, min(concurrency, len(pending))))
    ]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        # A worker raised (refused credentials, a bug): stop the others before anything else
        # is written, so the run ends at once with what is already flushed kept.
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return already

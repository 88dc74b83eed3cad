"""The resumable loop behind the evaluations (``rlaif eval agreement`` and ``eval policy``).

Evaluations do not write a dataset in input order (that is :class:`~rlaif.runs.job.ResumableJob`);
they keep one result per key in a :class:`~rlaif.runs.store.ResultStore` and read them back in
whatever order the report needs. :func:`run_keyed` runs the items whose key is not stored yet
(or is stored with another tag: its inputs changed), chunk by chunk, appending each finished chunk,
so a killed evaluation loses at most one chunk and a rerun pays for nothing already done. A
chunk whose model deferred calls to a provider batch is stored after the batch has answered (the
batches are recorded in ``<path>.batch.json``; see :mod:`rlaif.models.batch`).

    store = await run_keyed(
        records, judge_chunk, path, tags=tags, label="judging", chunk_size=16
    )
    rows = [store.rows[r.id] for r in records]
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

from rlaif.data.manifest import side_path
from rlaif.models.batch import Deferred, batch_scope, settle_batches
from rlaif.runs.progress import RunProgress
from rlaif.runs.store import ResultStore

Item = TypeVar("Item")

ChunkWorker = Callable[[Sequence[Item]], Awaitable[Sequence[dict[str, Any]]]]
"""Turns a chunk of items into one result row each (in the chunk's order); failures are
recorded in the rows, not raised."""


async def run_keyed(
    items: Sequence[Item],
    work: ChunkWorker[Item],
    path: str | Path,
    *,
    key: Callable[[Item], str] = attrgetter("id"),
    tags: Mapping[str, str] | None = None,
    label: str,
    chunk_size: int,
    progress: bool = True,
    redo: Callable[[dict[str, Any]], bool] | None = None,
) -> ResultStore:
    """Run ``work`` on the items not yet stored in ``path`` and return the store, which then
    holds a row for every item. Each stored row gets the item's ``key``, its ``tag`` and the
    per-item ``wall_s`` of its chunk (so reports can count time spent by earlier runs too).
    ``key`` names an item's result (by default its ``id``); a stored row for which ``redo`` is
    true (a call that failed) is run again."""
    tags = tags or {}
    store = ResultStore(path)

    def pending(item: Item) -> bool:
        row = store.get(key(item), tags.get(key(item), ""))
        return row is None or (redo is not None and redo(row))

    batches = side_path(Path(path), "batch.json")
    rounds = 0
    bar = RunProgress(len(items), label, enabled=progress, transient=True)
    with bar, batch_scope() as queues:
        while True:
            todo = [item for item in items if pending(item)]
            bar.restart(done=len(items) - len(todo))
            for start in range(0, len(todo), chunk_size):
                chunk = todo[start : start + chunk_size]
                began = time.perf_counter()
                try:
                    rows = await work(chunk)
                except Deferred:  # waiting for a provider batch: stored after it answers
                    continue
                per_item = (time.perf_counter() - began) / len(chunk)
                store.append(
                    {**row, "key": key(item), "tag": tags.get(key(item), ""), "wall_s": per_item}
                    for item, row in zip(chunk, rows, strict=True)
                )
                bar.advance(len(chunk))
            if await settle_batches(batches, queues, rounds) is None:
                return store
            rounds += 1

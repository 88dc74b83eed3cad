"""Provider batch APIs (OpenAI Batch API, Anthropic Message Batches) behind the ordinary
per-request :class:`~rlaif.models.Model` interface.

Design: the jobs (generate, critique, label, eval agreement) call models one request at a time,
and every call goes through the response cache under ``cache_key(identity, kind, request)``. A
model with ``batch: true`` keeps that interface and runs a job in rounds instead of rewriting it:

1. **Collect.** On a cache miss the model queues the request in its :class:`BatchQueue` and
   raises :class:`Deferred`. ``Deferred`` is a ``BaseException``, so the judges' and workers'
   ``except Exception`` (which turn failed calls into recorded failures) let it through, and the
   job engine (:mod:`rlaif.runs`) drops that unit for this pass: nothing is written for it, not
   even a skip, so it stays pending.
2. **Submit.** :meth:`BatchQueue.settle` sends the queued requests as one provider batch. The
   batch is recorded in the run folder (``<out>.batch.json``) *before* it is created (a token
   and the request keys) and again as soon as the provider names it, so that a process killed
   while polling finds it on the rerun and polls it instead of submitting again. (OpenAI
   batches carry the token in their metadata, so even a kill between the create call and the
   write is found again; Anthropic's API has nothing to search by, so that window of
   milliseconds remains there.)
3. **Poll** with backoff (``batch_poll_s``, growing by half up to ten times it), printing a
   progress line: submitted, in progress, done, failed, expiry time.
4. **Collect results** into the response cache under the keys the synchronous path uses,
   parsed by the backend's own reader of a synchronous answer, priced at batch rates
   (:meth:`ModelSpec.cost` with ``batch=True``) and counted in the usage (the run's journal).
   Failed and expired requests are recorded in the state file with their reason.
5. **Rerun** the job: every answered call is now a cache hit, the same writers and verdict
   parsing apply. Calls that depend on earlier answers (revision after critique, scoring
   after a chain of thought) are deferred in their turn, and the rounds repeat until a pass
   defers nothing.

A request a batch returned as failed or expired is, by ``batch_retry``: ``fail`` (default)
raised as a non-retryable :class:`BackendError`, so the item is recorded as a failed call (never
a guessed label); ``sync``: sent synchronously at the synchronous price; ``batch``: queued for a
new batch (once a process). Unseeded sampled requests (``temperature > 0``, no seed) are not
cacheable and so are sent synchronously. No API key is written anywhere: the state file holds
batch ids, tokens, request keys (hashes) and error texts, redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rlaif.config.paths import write_json_atomic
from rlaif.errors import redact
from rlaif.models.base import Backend, BackendError, CapabilityError
from rlaif.models.batch.providers import BatchStatus, ProviderBatches, provider_batches
from rlaif.models.spec import ModelSpec
from rlaif.models.types import ChoiceScores, Completion, Conversation, GenerateConfig

MAX_ROUNDS = 50
"""Most collect-submit rounds of one job (a job whose calls depend on each other needs one a
step; more means requests that never settle)."""


class Deferred(BaseException):
    """Raised by a batch-mode model for a request it queued for the next batch: the job leaves
    the item pending (writes nothing for it) and reruns it once the batch has answered."""


@dataclass
class QueuedRequest:
    """A request waiting for a batch."""

    key: str
    """Its response-cache key (the batch line's ``custom_id``)."""
    kind: str
    """``generate`` or ``choices``."""
    conversation: Conversation
    """The conversation."""
    config: GenerateConfig | None
    """Generation settings (``generate``)."""
    choices: list[str] | None
    """The choices scored (``choices``)."""


class BatchModel(Protocol):
    """What a queue needs of its :class:`~rlaif.models.Model`."""

    backend: Backend
    spec: ModelSpec

    @property
    def name(self) -> str: ...

    def store_result(self, result: Completion | ChoiceScores, key: str, kind: str) -> bool: ...


_SCOPE: contextvars.ContextVar[set[BatchQueue] | None] = contextvars.ContextVar(
    "rlaif_batch_scope", default=None
)


@contextlib.contextmanager
def batch_scope() -> Iterator[set[BatchQueue]]:
    """Within this block (and the tasks started in it), collect the queues of the batch-mode
    models that are called: a job settles the batches of its own models, not another's."""
    queues: set[BatchQueue] = set()
    token = _SCOPE.set(queues)
    try:
        yield queues
    finally:
        _SCOPE.reset(token)


class BatchQueue:
    """The requests one batch-mode model deferred, and what its batches answered."""

    def __init__(self, model: BatchModel):
        self.model = model
        self.client: ProviderBatches = provider_batches(model.backend)
        self.pending: dict[str, QueuedRequest] = {}
        self.failures: dict[str, dict[str, Any]] = {}
        """Requests a batch returned as failed or expired: key → ``error`` and ``capability``."""
        self.resubmitted: set[str] = set()
        """Keys this process sent in a new batch after a failure (not retried again)."""
        self._cost = 0.0
        self._active = 0
        self.batches_created = 0
        """Batches this process created."""

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a model call as running until it returns, raises or is deferred (and join the
        current :func:`batch_scope`)."""
        scope = _SCOPE.get()
        if scope is not None:
            scope.add(self)
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1

    async def quiesce(self) -> None:
        """Wait until no call of this model is running. A job's pass ends when its first
        deferral reaches it, while sibling calls (the other order of the same pair, started by
        the same ``gather``) are still on their way to the queue: they belong in this batch."""
        while self._active:
            await asyncio.sleep(0.001)

    def intercept(
        self,
        key: str,
        kind: str,
        conversation: Conversation,
        config: GenerateConfig | None = None,
        choices: Sequence[str] | None = None,
    ) -> None:
        """Called on a cache miss: queue the request and raise :class:`Deferred`; or raise the
        failure a batch recorded for it; or return (``batch_retry: sync``: call it now)."""
        failure = self.failures.get(key)
        if failure is not None:
            if failure.get("capability"):
                raise CapabilityError(failure["error"])
            policy = self.model.spec.batch_retry
            if policy == "sync":
                return
            if policy == "fail" or key in self.resubmitted:
                raise BackendError(f"batch: {failure['error']}", retryable=False)
        self.pending[key] = QueuedRequest(
            key, kind, conversation, config, None if choices is None else list(choices)
        )
        raise Deferred(key)

    async def settle(self, state_path: Path) -> float:
        """Send the queued requests (or find their batch again in ``state_path``), wait for the
        batches to end and store their results; the queue is empty afterwards. Returns the
        cost of the results stored (0 when unpriced)."""
        self._cost = 0.0
        queued, self.pending = self.pending, {}
        state = read_state(state_path)
        latest: dict[str, dict[str, Any]] = {}
        for entry in state["batches"]:
            if entry["model"] == self.model.name:
                for key in entry["keys"]:
                    latest[key] = entry
        waiting: dict[int, dict[str, Any]] = {}
        fresh: list[str] = []
        for key in queued:
            entry = latest.get(key)
            if entry is not None and entry["status"] != "collected":
                waiting[id(entry)] = entry
            elif entry is not None and key in entry.get("failed", {}):
                self.failures[key] = entry["failed"][key]
                if self.model.spec.batch_retry == "batch" and key not in self.resubmitted:
                    self.resubmitted.add(key)
                    del self.failures[key]
                    fresh.append(key)
            else:
                fresh.append(key)
        if fresh:
            entry = {
                "model": self.model.name,
                "provider": self.model.backend.provider,
                "token": uuid.uuid4().hex,
                "id": None,
                "status": "creating",
                "keys": fresh,
                "created": time.time(),
            }
            state["batches"].append(entry)
            write_state(state_path, state)
            waiting[id(entry)] = entry
        for entry in waiting.values():
            if entry["id"] is None:
                await self._create(entry, queued, state, state_path)
        await self._wait(list(waiting.values()))
        for entry in waiting.values():
            await self._collect(entry, queued)
            entry["status"] = "collected"
            write_state(state_path, state)
        return self._cost

    async def _create(
        self,
        entry: dict[str, Any],
        queued: dict[str, QueuedRequest],
        state: dict[str, Any],
        state_path: Path,
    ) -> None:
        found = await self.client.find(entry["token"])
        if found is None:
            missing = [key for key in entry["keys"] if key not in queued]
            if missing:  # an unsent batch of another run's requests: only ours go now
                entry["keys"] = [key for key in entry["keys"] if key in queued]
            lines = [
                self.model.backend.batch_line(  # type: ignore[attr-defined]
                    key, queued[key].conversation, queued[key].config, queued[key].choices
                )
                for key in entry["keys"]
            ]
            found = await self.client.submit(lines, entry["token"])
            self.batches_created += 1
        entry["id"] = found
        entry["status"] = "submitted"
        write_state(state_path, state)

    async def _wait(self, entries: list[dict[str, Any]]) -> None:
        delay = self.model.spec.batch_poll_s
        active = list(entries)
        shown: dict[str, str] = {}
        while active:
            still = []
            for entry in active:
                try:
                    status = await self.client.status(entry["id"])
                except BackendError as error:
                    if not error.retryable:
                        raise
                    _progress_line(f"batch {entry['id']}: poll failed ({redact(str(error))})")
                    still.append(entry)
                    continue
                line = status.describe(self.model.name, entry["id"])
                if shown.get(entry["id"]) != line:
                    shown[entry["id"]] = line
                    _progress_line(line)
                if not status.ended:
                    still.append(entry)
            active = still
            if active:
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 10 * self.model.spec.batch_poll_s)

    async def _collect(self, entry: dict[str, Any], queued: dict[str, QueuedRequest]) -> None:
        failed: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        async for key, body, error in self.client.results(entry["id"]):
            seen.add(key)
            request = queued.get(key)
            if request is None:
                continue  # asked no more: left to a later batch if it is asked again
            if body is None:
                failed[key] = {"error": redact(error or "failed in the batch")}
                continue
            try:
                result = self.model.backend.batch_result(  # type: ignore[attr-defined]
                    body, request.choices
                )
            except (BackendError, CapabilityError) as problem:
                capability = isinstance(problem, CapabilityError)
                failed[key] = {"error": redact(str(problem)), "capability": capability}
                continue
            if self.model.store_result(result, key, request.kind):
                self._cost += result.cost_usd or 0.0
        for key in entry["keys"]:
            if key not in seen and key in queued:
                failed[key] = {"error": "the batch returned no result for this request"}
        entry["failed"] = failed
        self.failures.update(failed)


def _progress_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


async def settle_batches(
    state_path: Path, queues: set[BatchQueue], rounds_done: int = 0
) -> float | None:
    """Settle the ``queues`` (a :func:`batch_scope`) that hold requests, once their running calls
    have been deferred (see :meth:`BatchQueue.settle`); returns the cost of the results stored,
    ``None`` when no queue held any request. ``rounds_done``: rounds this job already settled
    (a cap stops a job whose requests never settle)."""
    for queue in list(queues):
        await queue.quiesce()
    holding = [queue for queue in list(queues) if queue.pending]
    if not holding:
        return None
    if rounds_done >= MAX_ROUNDS:
        raise BackendError(
            f"batch: requests still deferred after {MAX_ROUNDS} rounds", retryable=False
        )
    cost = 0.0
    for queue in holding:
        cost += await queue.settle(state_path)
    return cost


def read_state(path: Path) -> dict[str, Any]:
    """The batches recorded in a run folder's state file (none when there is no file)."""
    if not path.exists():
        return {"version": 1, "batches": []}
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically (written, flushed to disk, then renamed)."""
    write_json_atomic(path, state)


__all__ = [
    "BatchQueue",
    "BatchStatus",
    "Deferred",
    "QueuedRequest",
    "batch_scope",
    "read_state",
    "settle_batches",
    "write_state",
]

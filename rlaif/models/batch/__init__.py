"""Provider batch APIs (OpenAI Batch API, Anthropic Message Batches) behind the ordinary
per-request :class:`~rlaif.models.Model` interface: :mod:`~rlaif.models.batch.queue` collects
deferred requests and settles them in rounds, :mod:`~rlaif.models.batch.providers` speaks each
provider's batch endpoints."""

from rlaif.models.batch.queue import (
    BatchQueue,
    Deferred,
    batch_scope,
    read_state,
    settle_batches,
    write_state,
)

__all__ = ["BatchQueue", "Deferred", "batch_scope", "read_state", "settle_batches", "write_state"]

"""The usage journal ``<out>.usage.jsonl``: one line per model usage event (a paid call, a cache
hit, a retry, an error, an abandoned attempt, an attempt sent or ended), appended and flushed as it
happens, so that the calls of a run killed with SIGKILL still count, and the attempts it had in
flight are known. The manifest's ``usage`` is the journal's total over every run into the
output."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from rlaif.data.jsonl import iter_jsonl, repair_tail
from rlaif.data.manifest import side_path
from rlaif.models.usage import Usage

EARLIER_RUNS = "(earlier runs)"
"""The model name of the line that carries over a manifest's usage from before the journal."""


class UsageJournal:
    """Append-only usage events of every run into one output (see the module docstring)."""

    def __init__(self, out: Path):
        self.path = side_path(out, "usage.jsonl")
        self._lock = threading.Lock()
        self._handle: Any = None
        self.repaired = 0
        """Bytes of a line cut short by a killed run removed by :meth:`open` (0: none)."""

    def open(self, carried: dict[str, float] | None = None) -> None:
        """Open for appending (a line torn by a kill is dropped first). ``carried``: the usage
        of a manifest written before there was a journal, kept as its first line."""
        fresh = not self.path.exists()
        self.repaired = repair_tail(self.path)
        self._handle = self.path.open("a", encoding="utf-8")
        if fresh and carried and carried.get("calls"):
            hits = int(carried.get("cache_hits", 0))
            earlier = Usage(
                calls=int(carried["calls"]) - hits,
                cache_hits=hits,
                cost_usd=float(carried.get("cost_usd", 0.0)),
            )
            self.record(EARLIER_RUNS, earlier)

    def record(self, model: str, delta: Usage) -> None:
        """Append one event (a :class:`~rlaif.models.usage.UsageObserver`)."""
        line = json.dumps({"model": model, **delta.as_dict()}) + "\n"
        with self._lock:
            if self._handle is not None:
                self._handle.write(line)
                self._handle.flush()

    def totals(self) -> Usage:
        """Everything recorded so far, by every run."""
        total = Usage()
        if self.path.exists():
            for _, row in iter_jsonl(self.path):
                row.pop("model", None)
                total.merge(Usage(**row))
        return total

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def manifest_usage(total: Usage) -> dict[str, float]:
    """The manifest's ``usage``: ``calls`` (cache hits included), ``cache_hits`` and
    ``cost_usd`` always; ``errors``, ``retries``, ``abandoned`` and token counts when not 0; and
    ``in_flight_when_killed``: attempts a killed run sent and never saw end, which the server may
    have answered and billed (not in ``calls``: their answers never arrived)."""
    usage: dict[str, float] = {
        "calls": total.calls + total.cache_hits,
        "cache_hits": total.cache_hits,
        "cost_usd": total.cost_usd,
    }
    for name in ("errors", "retries", "abandoned", "input_tokens", "output_tokens"):
        if getattr(total, name):
            usage[name] = getattr(total, name)
    if total.in_flight:
        usage["in_flight_when_killed"] = total.in_flight
    return usage

"""The resumable, ordered, concurrent loop behind ``rlaif generate``, ``critique`` and
``label``.

Work is split into units (a prompt, or a pair); each unit knows the ids of the records it will
write. Units whose ids are all in the output (or its side file of skipped items) are not run
again. Units run ``concurrency`` at a time, but their records are written strictly in input
order, so an interrupted and resumed run leaves exactly the file an uninterrupted run would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rlaif.constitution import Constitution
from rlaif.data.jsonl import JsonlWriter, iter_jsonl
from rlaif.data.manifest import (
    Manifest,
    check_resumable,
    manifest_path,
    side_path,
    write_manifest,
)
from rlaif.data.records import SkippedRecord
from rlaif.judge.judgment import Judgment
from rlaif.judge.progress import LabelProgress


@dataclass
class Unit:
    """One piece of work and the ids of the records it writes."""

    ids: list[str]
    """Record ids this unit produces (in the main file or the skipped file)."""
    payload: Any
    """What the worker needs (a prompt record, a pair, ...)."""


@dataclass
class Outputs:
    """What one unit produced, in the order it is written."""

    records: list[BaseModel | SkippedRecord] = field(default_factory=list)
    """Main-file records and skipped records, in id order."""
    judgments: list[Judgment] = field(default_factory=list)
    """Judgments behind the records (written first, to ``*.judgments.jsonl``)."""


class Sink:
    """The output file and its side files: ``*.skipped.jsonl`` (kept out of training, with
    reasons) and ``*.judgments.jsonl`` (every judge verdict, votes included)."""

    def __init__(self, out: Path, *, judgments: bool = True):
        self.out = out
        self.main = JsonlWriter(out)
        self.skipped = JsonlWriter(side_path(out, "skipped.jsonl"))
        self.judgments = (
            JsonlWriter(side_path(out, "judgments.jsonl"), key="pair_id") if judgments else None
        )

    def done(self, ids: Sequence[str]) -> bool:
        """Whether every id is already written (to the main or the skipped file)."""
        return all(i in self.main or i in self.skipped for i in ids)

    def emit(self, outputs: Outputs) -> None:
        """Append a unit's judgments, then its records."""
        if self.judgments is not None:
            for judgment in outputs.judgments:
                self.judgments.write(judgment)
        for record in outputs.records:
            target = self.skipped if isinstance(record, SkippedRecord) else self.main
            target.write(record)

    def files(self) -> dict[str, str]:
        """Names of the side files, for the manifest."""
        names = {"skipped": self.skipped.path.name}
        if self.judgments is not None:
            names["judgments"] = self.judgments.path.name
        return names

    def close(self) -> None:
        """Close every file."""
        self.main.close()
        self.skipped.close()
        if self.judgments is not None:
            self.judgments.close()


async def run_units(
    units: Sequence[Unit],
    work: Callable[[Unit], Awaitable[Outputs]],
    sink: Sink,
    *,
    concurrency: int,
    bar: LabelProgress,
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
            results[index] = await work(unit)
            flush()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(pending))))))
    return already


def skip_category(reason: str) -> str:
    """The category of a skip reason (the text before the first colon)."""
    return reason.split(":", 1)[0].strip()


def count_outputs(sink: Sink) -> dict[str, int]:
    """Records in the output and skipped records by category, read back from the files."""
    counts: dict[str, int] = {"records": sum(1 for _ in iter_jsonl(sink.main.path))}
    skipped = 0
    for _, value in iter_jsonl(sink.skipped.path):
        skipped += 1
        key = f"skipped: {skip_category(str(value.get('reason', '')))}"
        counts[key] = counts.get(key, 0) + 1
    counts["skipped"] = skipped
    return counts


def constitution_info(constitution: Constitution) -> dict[str, Any]:
    """Name, version, content hash and template hashes of a constitution, for manifests."""
    return {
        "name": constitution.name,
        "version": constitution.version,
        "hash": constitution.content_hash(),
        "templates": constitution.template_hashes(),
    }


def begin_manifest(out: Path, kind: str, settings: dict[str, Any], **fields: Any) -> Manifest:
    """Check that ``out`` may be resumed with ``settings`` and write its manifest; returns it."""
    existing = check_resumable(out, settings)
    manifest = Manifest(output=out.name, kind=kind, settings=settings, **fields)
    if existing is not None:
        manifest.created = existing.created
        manifest.usage = dict(existing.usage)
        manifest.counts = dict(existing.counts)
    write_manifest(manifest, out)
    return manifest


def end_manifest(manifest: Manifest, sink: Sink, bar: LabelProgress) -> Path:
    """Record counts, side files and this run's usage (added to earlier runs') in the manifest."""
    manifest.counts = count_outputs(sink)
    manifest.files = sink.files()
    usage = manifest.usage
    usage["calls"] = usage.get("calls", 0) + bar.calls
    usage["cache_hits"] = usage.get("cache_hits", 0) + bar.cache_hits
    usage["cost_usd"] = usage.get("cost_usd", 0.0) + bar.cost_usd
    if bar.consistency_rate is not None:
        usage["consistency_rate_last_run"] = round(bar.consistency_rate, 4)
    write_manifest(manifest, sink.out)
    return manifest_path(sink.out)

"""Where a run's records go: the output file and its side files, ``*.skipped.jsonl`` (items kept
out of training, with reasons) and ``*.judgments.jsonl`` (every judge verdict, votes included).

Items skipped because a model call failed are tried again by the next run into the same output:
the sink takes them (and their judgments) out of the side files before the run, so the run
redoes them and writes their new outcome. Successful calls behind them come from the response
cache, so nothing is paid twice.

Every ``error`` and ``reason`` written is redacted (:func:`rlaif.errors.redact`), the last line of
defence against provider text that echoes an API key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rlaif.data.jsonl import JsonlWriter, iter_jsonl, remove_rows
from rlaif.data.manifest import side_path
from rlaif.data.records import FAILED, UNFINISHED, SkippedRecord, skip_category
from rlaif.errors import redact


@dataclass
class Outputs:
    """What one unit produced, in the order it is written."""

    records: list[BaseModel | SkippedRecord] = field(default_factory=list)
    """Main-file records and skipped records, in id order."""
    judgments: list[BaseModel] = field(default_factory=list)
    """Judgments behind the records (written first, to ``*.judgments.jsonl``)."""


class Sink:
    """The output file and its side files, each appended one flushed line at a time."""

    def __init__(self, out: Path, *, judgments: bool = True, retry: Collection[str] = (FAILED,)):
        self.out = out
        self.retried = self._withdraw(retry, judgments)
        """Ids taken out of the side files to be tried again (skip categories in ``retry``)."""
        self.main = JsonlWriter(out)
        self.skipped = JsonlWriter(side_path(out, "skipped.jsonl"))
        self.judgments = (
            JsonlWriter(side_path(out, "judgments.jsonl"), key="pair_id") if judgments else None
        )
        self.emitted: Counter[str] = Counter()
        """This run's records (``records``) and skips by category."""
        self.first_failure: str | None = None
        """The first reason this run skipped an item because a call failed or a verdict was
        missing (what a run in which everything failed reports)."""

    def _withdraw(self, retry: Collection[str], judgments: bool) -> set[str]:
        def retried(row: dict[str, object]) -> bool:
            return skip_category(str(row.get("reason", ""))) in retry

        ids = {
            str(row.get("id")) for row in remove_rows(side_path(self.out, "skipped.jsonl"), retried)
        }
        if ids and judgments:
            remove_rows(
                side_path(self.out, "judgments.jsonl"), lambda row: row.get("pair_id") in ids
            )
        return ids

    def repaired(self) -> list[tuple[Path, int]]:
        """``(file, bytes removed)`` of each file whose last line, cut short by a killed run,
        was removed on opening."""
        writers = (self.main, self.skipped, self.judgments)
        return [(w.path, w.repaired) for w in writers if w is not None and w.repaired]

    def done(self, ids: Sequence[str]) -> bool:
        """Whether every id is already written (to the main or the skipped file)."""
        return all(i in self.main or i in self.skipped for i in ids)

    def emit(self, outputs: Outputs) -> None:
        """Append a unit's judgments, then its records."""
        if self.judgments is not None:
            for judgment in outputs.judgments:
                self.judgments.write(redacted_errors(judgment.model_dump(mode="json")))
        for record in outputs.records:
            if isinstance(record, SkippedRecord):
                written = self.skipped.write(redacted_errors(record.model_dump(mode="json")))
                category = count_key(record.reason)
                unfinished = skip_category(record.reason) in UNFINISHED
                if written and unfinished and self.first_failure is None:
                    self.first_failure = redact(record.reason)
            else:
                written = self.main.write(redacted_errors(record.model_dump(mode="json")))
                category = "records"
            if written:
                self.emitted[category] += 1

    def files(self) -> dict[str, str]:
        """Names of the side files, for the manifest."""
        names = {"skipped": self.skipped.path.name}
        if self.judgments is not None:
            names["judgments"] = self.judgments.path.name
        return names

    def counts(self) -> dict[str, int]:
        """Records in the output and skipped records by category, read back from the files."""
        counts: dict[str, int] = {"records": sum(1 for _ in iter_jsonl(self.main.path))}
        skipped = 0
        for _, value in iter_jsonl(self.skipped.path):
            skipped += 1
            key = count_key(str(value.get("reason", "")))
            counts[key] = counts.get(key, 0) + 1
        counts["skipped"] = skipped
        return counts

    def close(self) -> None:
        """Close every file."""
        self.main.close()
        self.skipped.close()
        if self.judgments is not None:
            self.judgments.close()


_ERROR_FIELDS = frozenset({"error", "reason"})


def redacted_errors(value: Any) -> Any:
    """``value`` (a record as JSON) with every string under an ``error`` or ``reason`` key, at
    any depth, redacted."""
    if isinstance(value, dict):
        return {
            key: redact(item)
            if key in _ERROR_FIELDS and isinstance(item, str)
            else redacted_errors(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted_errors(item) for item in value]
    return value


def count_key(reason: str) -> str:
    """Where a skipped record with ``reason`` is counted (``skipped: <category>``)."""
    return f"skipped: {skip_category(reason)}"

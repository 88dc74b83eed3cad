"""Where a run's records go: the output file and its side files, ``*.skipped.jsonl`` (items kept
out of training, with reasons) and ``*.judgments.jsonl`` (every judge verdict, votes included).
Every ``error`` and ``reason`` written is redacted (:func:`rlaif.errors.redact`), the last line of
defence against provider text that echoes an API key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rlaif.data.jsonl import JsonlWriter, iter_jsonl
from rlaif.data.manifest import side_path
from rlaif.data.records import SkippedRecord
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
                self.judgments.write(redacted_errors(judgment.model_dump(mode="json")))
        for record in outputs.records:
            target = self.skipped if isinstance(record, SkippedRecord) else self.main
            target.write(redacted_errors(record.model_dump(mode="json")))

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
            key = f"skipped: {skip_category(str(value.get('reason', '')))}"
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


def skip_category(reason: str) -> str:
    """The category of a skip reason (the text before the first colon)."""
    return reason.split(":", 1)[0].strip()

"""Append-only JSONL results keyed by id, so long evaluations resume where a killed run stopped.

Each line is one complete record with a ``key`` and a ``tag``; a rerun reads the complete lines
and redoes a key whose stored tag differs from the current one (its inputs changed). A file with
any other line is not a result store (someone else's file in the output folder): it is refused
and left as it is. Only then is a last line cut short by a killed process removed (by the same
:func:`~rlaif.data.jsonl.repair_tail` the dataset writers use), with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rlaif.data.jsonl import DataFileError, iter_jsonl, repair_tail
from rlaif.runs.terminal import report_repair


class ResultStore:
    """Records by key in ``path``; :meth:`append` writes and flushes whole lines."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return
        for number, row in iter_jsonl(self.path, cut_short_tail=True):
            if "key" not in row:
                raise DataFileError(
                    f"{self.path}:{number}: not a result of an earlier run (no 'key'), so the "
                    "file is left as it is: choose another output folder, or move the file away"
                )
            self.rows[str(row["key"])] = row
        report_repair(self.path, repair_tail(self.path))

    def get(self, key: str, tag: str = "") -> dict[str, Any] | None:
        """The stored record for ``key`` when its tag matches, else ``None``."""
        row = self.rows.get(key)
        if row is None or row.get("tag", "") != tag:
            return None
        return row

    def missing(self, keys: Iterable[str], tags: dict[str, str] | None = None) -> list[str]:
        """Keys with no stored record (or a record made from other inputs)."""
        tags = tags or {}
        return [k for k in keys if self.get(k, tags.get(k, "")) is None]

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write records (each must hold ``key``; ``tag`` optional) and flush."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                self.rows[str(row["key"])] = row
            handle.flush()

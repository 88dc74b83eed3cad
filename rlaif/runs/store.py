"""Append-only JSONL results keyed by id, so long evaluations resume where a killed run stopped.

Each line is one complete record with a ``key`` and a ``tag``; a rerun reads the complete lines
(a last line cut short by a killed process is trimmed first, by the same
:func:`~rlaif.data.jsonl.repair_tail` the dataset writers use) and redoes a key whose stored tag
differs from the current one (its inputs changed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rlaif.data.jsonl import repair_tail


class ResultStore:
    """Records by key in ``path``; :meth:`append` writes and flushes whole lines."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return
        repair_tail(self.path)
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "key" in row:
                self.rows[str(row["key"])] = row

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

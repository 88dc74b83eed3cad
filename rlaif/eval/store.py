"""Append-only JSONL files keyed by id, so long evaluations resume where a killed run stopped.

Each line is one complete record with a ``key`` and a ``tag``; a rerun reads the complete lines,
ignores a last line cut short by a killed process (and trims it before appending), and redoes a
key whose stored tag differs from the current one (its inputs changed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class JsonlStore:
    """Records by key in ``path``; :meth:`append` writes and flushes whole lines."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                # A line cut short by a killed process: drop it, that item is redone.
                data = data[: data.rfind(b"\n") + 1]
                self.path.write_bytes(data)
            for line in data.decode("utf-8").splitlines():
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

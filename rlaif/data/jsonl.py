"""Append-only, resumable JSONL files: one complete record per line.

A writer opened on an existing file first repairs it: a last line cut short by a killed process
(no trailing newline, not valid JSON) is removed, so the rerun appends after the last complete
record. The ids already present are known to the writer, so a rerun skips them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rlaif.errors import RlaifError

R = TypeVar("R", bound=BaseModel)


class DataFileError(RlaifError):
    """A data file is malformed; the message names the file and line."""


def _format_validation(error: ValidationError) -> str:
    parts = []
    for issue in error.errors():
        where = ".".join(str(x) for x in issue["loc"]) or "record"
        parts.append(f"{where}: {issue['msg']}")
    return "; ".join(parts)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of ``path``.

    A final line that is cut short (no newline and not valid JSON, as left by a killed writer) is
    skipped; any other invalid line raises :class:`DataFileError` naming the file and line.
    """
    path = Path(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            is_unterminated_tail = not raw.endswith(b"\n")
            try:
                value = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                if is_unterminated_tail:
                    return
                raise DataFileError(f"{path}:{number}: not valid JSON ({error})") from None
            if not isinstance(value, dict):
                raise DataFileError(
                    f"{path}:{number}: expected a JSON object, got {type(value).__name__}"
                )
            yield number, value


def read_records(path: str | Path, record_type: type[R]) -> list[R]:
    """Read and validate every record of ``path``; errors name the file, line and field."""
    records = []
    for number, value in iter_jsonl(path):
        try:
            records.append(record_type.model_validate(value))
        except ValidationError as error:
            raise DataFileError(
                f"{path}:{number}: not a valid {record_type.__name__}: {_format_validation(error)}"
            ) from None
    return records


def _last_newline(handle: Any, size: int, chunk: int = 1 << 16) -> int:
    """Offset just after the last newline of an open binary file (0 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - chunk)
        handle.seek(start)
        found = handle.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def repair_tail(path: Path) -> None:
    """Make ``path`` end after its last complete record: a cut-short last line is removed, a
    complete last line missing only its newline gets one."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        start = _last_newline(handle, size)
        handle.seek(start)
        tail = handle.read()
        try:
            json.loads(tail.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            handle.truncate(start)
            return
        handle.seek(size)
        handle.write(b"\n")


class JsonlWriter:
    """Append records to a JSONL file, one flushed line each, skipping keys already written.

    ``key`` names the field that identifies a record (``id`` by default). Use as a context
    manager or call :meth:`close`.
    """

    def __init__(self, path: str | Path, *, key: str = "id", fsync: bool = False):
        self.path = Path(path)
        self.key = key
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self.keys: set[str] = set()
        if self.path.exists():
            self.keys = {str(value.get(key)) for _, value in iter_jsonl(self.path)}
        self._handle = self.path.open("a", encoding="utf-8")
        self.written = 0

    def __contains__(self, key: object) -> bool:
        return str(key) in self.keys

    def write(self, record: BaseModel | dict[str, Any]) -> bool:
        """Append ``record`` unless its key is already in the file; returns whether it was
        written."""
        value = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
        key = str(value.get(self.key))
        if key in self.keys:
            return False
        self._handle.write(json.dumps(value, ensure_ascii=False) + "\n")
        self._handle.flush()
        if self.fsync:
            os.fsync(self._handle.fileno())
        self.keys.add(key)
        self.written += 1
        return True

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Data files: the one reader of every file that flows between stages, and the append-only,
resumable JSONL writer.

:func:`iter_jsonl` reads JSONL (``.jsonl`` or ``.jsonl.gz``); :func:`iter_rows` also reads a JSON
array (``.json``) and Parquet, naming each row ``file:line`` (or ``file:row N``);
:func:`read_records` validates the rows into pydantic records. Every problem raises
:class:`DataFileError` naming the file and line: a malformed line is never skipped, not even a
last line cut short (no trailing newline, not valid JSON) as a killed writer leaves it.

A writer opened on an existing file first checks that every complete line is a JSON object,
then repairs the file: a last line cut short by a killed process is removed (the writer reports
how many bytes in :attr:`JsonlWriter.repaired`), so the rerun appends after the last complete
record. The ids already present are known to the writer, so a rerun skips them. Only open a
writer on a file rlaif wrote (the jobs check its manifest first, :mod:`rlaif.data.manifest`): a
one-line text file without a newline cannot be told from a record cut short.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rlaif.config import describe_validation_error
from rlaif.errors import RlaifError

R = TypeVar("R", bound=BaseModel)


class DataFileError(RlaifError):
    """A data file is missing or malformed; the message names the file and line."""


def iter_jsonl(
    path: str | Path, *, cut_short_tail: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of ``path`` (``.jsonl``, or
    gzip-compressed ``.jsonl.gz``).

    Every invalid line raises :class:`DataFileError` naming the file and line, a final line cut
    short (no newline and not valid JSON, as a killed writer leaves it) included. Only a writer
    about to repair its own file passes ``cut_short_tail=True`` to read past such a line.
    """
    path = Path(path)
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                is_unterminated_tail = not raw.endswith(b"\n")
                try:
                    value = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as error:
                    if is_unterminated_tail and cut_short_tail:
                        return
                    if is_unterminated_tail:
                        raise DataFileError(
                            f"{path}:{number}: the last line is cut short (no newline at the "
                            f"end, not valid JSON: {error}), as a killed run leaves it; rerun the "
                            "command that wrote the file to repair it, or delete the line"
                        ) from None
                    raise DataFileError(f"{path}:{number}: not valid JSON ({error})") from None
                if not isinstance(value, dict):
                    raise DataFileError(
                        f"{path}:{number}: expected a JSON object, got {type(value).__name__}"
                    )
                yield number, value
    except (gzip.BadGzipFile, EOFError) as error:
        raise DataFileError(
            f"{path}: cannot be read as gzip-compressed JSON lines ({error})"
        ) from None


def iter_rows(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, row)`` for each record of a ``.jsonl``, ``.jsonl.gz``, ``.json`` (an array
    of objects) or ``.parquet`` file; ``where`` is ``file:line`` (``file:row N`` for the last two).
    A missing file raises :class:`DataFileError`."""
    path = Path(path)
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder, not a data file")
    if not path.is_file():
        raise DataFileError(f"file not found: {path}")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # pyarrow is heavy: only Parquet readers pay for it

        for row, record in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield f"{path}:row {row}", record
        return
    if path.suffix == ".json":
        yield from _json_array_rows(path)
        return
    for number, value in iter_jsonl(path):
        yield f"{path}:{number}", value


def _json_array_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise DataFileError(
            f"{path}{f':{line}' if line else ''}: not valid JSON ({error})"
        ) from None
    if not isinstance(data, list):
        raise DataFileError(f"{path}: expected a JSON array of records")
    for row, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise DataFileError(
                f"{path}:row {row}: expected a JSON object, got {type(record).__name__}"
            )
        yield f"{path}:row {row}", record


def validate_row(where: str, row: dict[str, Any], record_type: type[R]) -> R:
    """``row`` as a ``record_type``; a :class:`DataFileError` naming ``where`` and the fields when
    it does not fit."""
    try:
        return record_type.model_validate(row)
    except ValidationError as error:
        problems = describe_validation_error(error, record_type)
        raise DataFileError(f"{where}: not a valid {record_type.__name__}: {problems}") from None


class UniqueIds:
    """Refuses a second record with an id already read, naming where both stand (a duplicate
    would be judged, then silently dropped by the id-keyed writers)."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}

    def check(self, where: str, record_id: str) -> None:
        """Remember ``record_id`` read at ``where``; :class:`DataFileError` if already seen."""
        if record_id in self.first:
            raise DataFileError(
                f"{where}: duplicate id {record_id!r} (first at {self.first[record_id]}); "
                "ids must be unique"
            )
        self.first[record_id] = where


def read_records(path: str | Path, record_type: type[R], *, unique_ids: bool = False) -> list[R]:
    """Read and validate every record of ``path`` (any format :func:`iter_rows` reads); errors
    name the file, line and field. With ``unique_ids``, a repeated ``id`` is refused too."""
    records = []
    ids = UniqueIds()
    for where, row in iter_rows(path):
        record = validate_row(where, row, record_type)
        if unique_ids:
            ids.check(where, str(row.get("id")))
        records.append(record)
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


def repair_tail(path: Path, *, line_start: bytes = b"{") -> int:
    """Make ``path``, a JSONL file rlaif wrote (check its manifest first), end after its last
    complete record: a last line cut short by a killed writer is removed, a complete last line
    missing only its newline gets one. Returns how many bytes were removed (0: none).

    ``line_start`` is how every line of the file begins (a JSON object); a last line that cannot
    be the start of one (text, not a record cut short) raises :class:`DataFileError` and the file
    is left as it is."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        start = _last_newline(handle, size)
        handle.seek(start)
        tail = handle.read()
        try:
            json.loads(tail.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            begins = tail.lstrip()
            if not (begins.startswith(line_start) or line_start.startswith(begins)):
                handle.seek(0)
                line = handle.read(start).count(b"\n") + 1
                raise DataFileError(
                    f"{path}:{line}: the last line is not valid JSON and not a record cut short; "
                    "the file is left as it is"
                ) from None
            handle.truncate(start)
            return size - start
        handle.seek(size)
        handle.write(b"\n")
    return 0


def remove_rows(path: Path, drop: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Take out of the JSONL file ``path`` the rows for which ``drop`` is true, keeping every
    other line byte for byte (a last line cut short too, for the file's writer to repair); the
    file is replaced atomically, so a kill leaves the old file or the new one. Returns the rows
    taken out (none when the file does not exist)."""
    if not path.is_file():
        return []
    kept: list[bytes] = []
    dropped: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:  # not JSON (or not UTF-8): kept as it is
                row = None
            if isinstance(row, dict) and drop(row):
                dropped.append(row)
            else:
                kept.append(line)
    if dropped:
        scratch = path.with_name(path.name + ".rewrite")
        scratch.write_bytes(b"".join(kept))
        os.replace(scratch, path)
    return dropped


class JsonlWriter:
    """Append records to a JSONL file, one flushed line each, skipping keys already written.

    ``key`` names the field that identifies a record (``id`` by default). An existing file is
    read first (a line that is not a JSON object raises :class:`DataFileError`, the file
    untouched), then its cut-short last line is removed (see :func:`repair_tail`): open a writer
    only on a file rlaif wrote. Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | Path, *, key: str = "id", fsync: bool = False):
        self.path = Path(path)
        self.key = key
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keys: set[str] = set()
        if self.path.exists():
            rows = iter_jsonl(self.path, cut_short_tail=True)
            self.keys = {str(value.get(key)) for _, value in rows}
        self.repaired = repair_tail(self.path)
        """Bytes of a last line cut short (by a killed run) removed on opening (0: none)."""
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


def concatenate_jsonl(parts: Sequence[Path], out: Path) -> int:
    """Write the lines of ``parts`` one after another into ``out`` (atomically: a temporary file
    renamed into place); returns the number of lines written."""
    temporary = out.with_name(out.name + ".tmp")
    lines = 0
    with temporary.open("w", encoding="utf-8") as handle:
        for part in parts:
            for line in part.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    handle.write(line + "\n")
                    lines += 1
    temporary.replace(out)
    return lines

"""The response cache: a rerun never pays twice for the same model call.

One SQLite file (``responses.sqlite`` under the cache directory) in WAL mode, so several
processes can read and write at once and a killed process loses at most the call it was making.
A row is keyed by a SHA-256 of everything that determines the answer: the backend's identity
(provider, base URL, model, weights fingerprint), the kind of call, the full conversation, every
generation parameter and the choices. Keys are hashes and rows hold only the response, so an API
key can never end up in the file (backends keep keys out of their identity).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_DIR_ENV = "RLAIF_CACHE_DIR"
"""Environment variable naming the cache directory (default ``~/.cache/rlaif``)."""
CACHE_FILE = "responses.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_dir() -> Path:
    """The cache directory: ``$RLAIF_CACHE_DIR`` or ``~/.cache/rlaif``."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "rlaif"


def default_cache_path() -> Path:
    """Where the response cache lives."""
    return cache_dir() / CACHE_FILE


def cache_key(identity: dict[str, Any], kind: str, request: dict[str, Any]) -> str:
    """Stable SHA-256 of the backend identity, the kind of call and the request."""
    payload = json.dumps(
        {"identity": identity, "kind": kind, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class CacheInfo:
    """What ``rlaif cache info`` shows."""

    path: Path
    """The SQLite file."""
    entries: int = 0
    """Stored responses."""
    size_bytes: int = 0
    """Bytes on disk, write-ahead log included."""
    by_model: dict[str, int] = field(default_factory=dict)
    """Stored responses per ``provider/model``."""


class ResponseCache:
    """A process-safe key → JSON store. Use :func:`open_cache` to share one per file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(
            self.path, timeout=60.0, isolation_level=None, check_same_thread=False
        )
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA busy_timeout=60000")
        self._connection.execute(_SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored value for ``key``, or ``None``."""
        with self._lock:
            row = self._connection.execute(
                "SELECT value FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, model: str, kind: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key`` (one committed transaction)."""
        text = json.dumps(value, ensure_ascii=False)
        with self._lock:
            self._connection.execute(
                "INSERT OR REPLACE INTO responses (key, model, kind, value, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, model, kind, text, time.time()),
            )

    def info(self) -> CacheInfo:
        """Entry counts and size."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT model, COUNT(*) FROM responses GROUP BY model ORDER BY model"
            ).fetchall()
        size = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )
        by_model = {model: count for model, count in rows}
        return CacheInfo(self.path, sum(by_model.values()), size, by_model)

    def clear(self, model: str | None = None) -> int:
        """Delete every entry (or one model's); returns how many were removed."""
        with self._lock:
            if model is None:
                cursor = self._connection.execute("DELETE FROM responses")
            else:
                cursor = self._connection.execute("DELETE FROM responses WHERE model = ?", (model,))
            removed = cursor.rowcount
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if model is None:
            with self._lock:
                self._connection.execute("VACUUM")
        return removed

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._connection.close()


_OPEN: dict[tuple[int, Path], ResponseCache] = {}
_OPEN_LOCK = threading.Lock()


def open_cache(path: str | Path | None = None) -> ResponseCache:
    """The shared :class:`ResponseCache` for ``path`` (default :func:`default_cache_path`) in
    this process."""
    resolved = Path(path or default_cache_path()).expanduser().resolve()
    key = (os.getpid(), resolved)
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = ResponseCache(resolved)
        return _OPEN[key]

"""Up-front checks of the files a command reads and writes, so that a folder given as a file, an
output under a regular file or an unwritable place is one clear :class:`ConfigError` before
anything is read or written (rather than an ``OSError`` halfway through a run); and the one way
a small JSON state file is replaced atomically (:func:`write_json_atomic`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rlaif.errors import ConfigError


def write_json_atomic(path: Path, data: object) -> None:
    """Replace ``path`` with ``data`` as JSON atomically: written, flushed to disk, then renamed,
    so that a killed process leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def check_input_file(path: Path, what: str) -> Path:
    """``path`` unless it is a folder or an unreadable file, else a :class:`ConfigError` that
    begins with ``what`` (the option, such as ``--pairs``) and says what is wrong (a missing file
    is left to the reader, which names it when it is needed)."""
    if not path.exists():
        return path
    if path.is_dir():
        raise ConfigError(f"{what} {path}: is a folder, not a file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{what} {path}: cannot be read (permission denied)")
    return path


def check_output_file(path: Path, what: str) -> Path:
    """``path`` if a file can be written there (folders above it may still have to be made);
    else a :class:`ConfigError` that begins with ``what`` and gives the reason. Nothing is left
    behind: a place that does not exist yet is probed with a temporary file, then removed."""
    if path.is_dir():
        raise ConfigError(f"{what} {path}: is a folder; give the path of a file to write")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{what} {path}: cannot be written (permission denied)")
        return path
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{what} {path}: cannot be written: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"{what} {path}: cannot be written: {existing}: {reason}") from None
    return path

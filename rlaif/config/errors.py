"""Problems in a config file that point at a file, line, column and field path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rlaif.errors import ConfigError


def format_field_path(path: Sequence[str | int]) -> str:
    """Turn ``("principles", 3, "compare")`` into ``principles[3].compare``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a config file (principles, constitution, template, pipeline,
    training config)."""

    file: str
    """Path of the file as shown to the user."""
    line: int
    """1-based line number."""
    column: int
    """1-based column number."""
    field: str
    """Dotted field path inside the document (``principles[3].compare``), or ``""``."""
    message: str
    """What is wrong, in words a user can act on."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigFileError(ConfigError):
    """A config file cannot be read, is not safe YAML, or does not validate; holds every issue
    found, each with its file, line and column (one per line of the message)."""

    def __init__(self, issues: Iterable[ValidationIssue]):
        self.issues: list[ValidationIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @classmethod
    def at(cls, file: str, line: int, column: int, message: str) -> ConfigFileError:
        """An error holding one issue about the file as a whole (no field path)."""
        return cls([ValidationIssue(file, line, column, "", message)])

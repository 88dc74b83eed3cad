"""Validation problems that point at a file, line, column and field path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rlaif.errors import RlaifError


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
    """One problem found in a principle, constitution or template file."""

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


class ConstitutionError(RlaifError):
    """Raised when principle or constitution files do not validate; holds every issue found."""

    def __init__(self, issues: Iterable[ValidationIssue]):
        self.issues: list[ValidationIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class TemplateVariableError(RlaifError):
    """A template was rendered without a variable it uses, or with an unknown stage."""


class NoApplicablePrincipleError(RlaifError, ValueError):
    """No principle of a constitution fits a prompt: it has no general principle and none of
    its category principles applies (``sampling.strategy: matched``)."""

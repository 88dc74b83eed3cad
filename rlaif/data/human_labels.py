"""Human pairwise labels, as ``rlaif annotate serve`` writes them (``LABELS.jsonl``).

The file is append-only: one line a label, written the moment it is given. Changing a label
appends a new line, and the latest line of an annotator for a pair wins
(:func:`latest_human_labels`). :func:`read_human_labels` reads every line through
:func:`~rlaif.data.read_records`, so a bad line is reported with its file and line, and a last
line cut short by a killed server is an error naming it (the next ``rlaif annotate serve`` into the
file removes it, with a warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rlaif.data.jsonl import DataFileError, iter_rows, validate_row

ANNOTATOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
"""An annotator name: letters, digits and ``_ . @ -``, at most 64 characters."""

Strength = Literal["better", "slightly"]
"""How strongly the preferred response wins: clearly ``better``, or ``slightly`` better (a
close call)."""


class HumanLabel(BaseModel):
    """One human judgment of a pair (a line of ``LABELS.jsonl``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    pair_id: str = Field(min_length=1)
    """The pair's id in the pairs file."""
    annotator: str = Field(pattern=ANNOTATOR_PATTERN)
    """Who gave the label."""
    preferred: Literal[1, 2]
    """The preferred response in the pair's own numbering (``response_1`` or ``response_2``),
    whatever side it was shown on."""
    strength: Strength
    """``better`` or ``slightly`` (better)."""
    both_unacceptable: bool = False
    """The annotator flagged both responses as unacceptable."""
    note: str = Field(default="", max_length=4000)
    """The annotator's free-text note."""
    shown: tuple[Literal[1, 2], Literal[1, 2]]
    """The order shown, left to right, in the pair's numbering: ``(1, 2)`` or ``(2, 1)``."""
    seconds: float = Field(ge=0)
    """Time spent on the pair before this label, in seconds."""
    time: str
    """When the label was given (UTC, ISO 8601)."""


def iter_human_labels(path: str | Path) -> Iterator[tuple[str, HumanLabel]]:
    """``(file:line, label)`` for every line of a labels file, in file order."""
    for where, row in iter_rows(path):
        yield where, validate_row(where, row, HumanLabel)


def read_human_labels(path: str | Path) -> list[HumanLabel]:
    """Every line of a labels file, in file order (a changed label appears more than once)."""
    return [label for _, label in iter_human_labels(path)]


def is_human_labels_file(path: str | Path) -> bool:
    """Whether the first record of ``path`` is a human label (``pair_id``, ``annotator``,
    ``preferred``) rather than a pair; ``False`` for an empty or unreadable file, or one that
    is not a data file (a suite YAML), which its own reader then reports."""
    name = Path(path).name
    if not name.endswith((".jsonl", ".jsonl.gz", ".json", ".parquet")):
        return False
    try:
        for _, row in iter_rows(path):
            return {"pair_id", "annotator", "preferred"} <= set(row)
    except DataFileError:
        return False
    return False


def latest_human_labels(labels: Iterable[HumanLabel]) -> dict[tuple[str, str], HumanLabel]:
    """The label in force for each ``(annotator, pair_id)``: the last one given."""
    latest: dict[tuple[str, str], HumanLabel] = {}
    for label in labels:
        latest[(label.annotator, label.pair_id)] = label
    return latest

"""Evaluation suites: YAML files (``eval/suites/*.yaml``) that point at a human-labelled
preference set and say how its columns map onto ours.

A relative ``source`` is read from the suite file's own folder (for a built-in suite, the
package's ``eval/suites/``: ``hh-harmless`` reads ``eval/data/hh_harmless_test.jsonl``), then
from the working directory; never from wherever an installed checkout happens to sit, so a
suite reads the same file whichever folder rlaif runs from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rlaif.constitution.library import eval_dir
from rlaif.data import DataFileError
from rlaif.errors import RlaifError


class ColumnMap(BaseModel):
    """Which source column holds each of our fields."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    id: str | None = "id"
    """Pair id column; ``null`` numbers the records instead."""
    prompt: str = "prompt"
    """Conversation before the compared replies (messages or a plain user string)."""
    chosen: str = "chosen"
    """The human-preferred reply (a string, a message list, or an HH-RLHF transcript)."""
    rejected: str = "rejected"
    """The other reply."""
    response_1: str = "response_1"
    """First reply, for sets that store two replies and a label instead of chosen/rejected."""
    response_2: str = "response_2"
    """Second reply, for labelled sets."""
    preferred: str | None = None
    """Label column naming the preferred reply; setting it switches to response_1/response_2."""
    subset: str | None = "subset"
    """Column used to break results down (subset, category); ``null`` for none."""


class PreferredValues(BaseModel):
    """Values of the ``preferred`` column that mean "response 1" and "response 2"."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    response_1: str = "1"
    """Label value meaning the first reply is preferred."""
    response_2: str = "2"
    """Label value meaning the second reply is preferred (any other value is skipped)."""


class Suite(BaseModel):
    """One human-labelled preference set and how to read it."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str
    """Short name (the file stem of built-in suites)."""
    description: str = ""
    """What the set is and what its labels mean."""
    source: str
    """Local file (``.jsonl``, ``.jsonl.gz``, ``.json``, ``.parquet``) or ``hf:owner/name``."""
    data_dir: str | None = None
    """Folder inside a hub dataset (e.g. ``harmless-base`` of ``Anthropic/hh-rlhf``)."""
    split: str = "test"
    """Hub split to load."""
    format: Literal["auto", "pairs", "hh-rlhf"] = "auto"
    """``pairs`` (prompt + replies), ``hh-rlhf`` (raw transcripts) or ``auto`` (detected per
    record: no prompt column but a chosen column means HH-RLHF transcripts)."""
    columns: ColumnMap = Field(default_factory=ColumnMap)
    """Column mapping."""
    preferred_values: PreferredValues = Field(default_factory=PreferredValues)
    """Label values of the ``preferred`` column."""
    subset: str | None = None
    """Subset name for records whose subset column is absent or empty."""
    id_prefix: str | None = None
    """Prefix of generated ids when there is no id column (``<prefix>/<0-based record number>``);
    default: the file name or hub id."""
    keep_columns: list[str] = Field(default_factory=list)
    """Extra source columns kept as pair metadata."""
    license: str = ""
    """Licence of the data, for reports."""
    citation: str = ""
    """Where the data comes from."""
    path: Path | None = Field(default=None, exclude=True)
    """The suite file this was loaded from (set by the loader)."""

    def resolve_path(self) -> Path:
        """The local data file: absolute, or relative to the suite file's folder first (where a
        built-in suite finds its packaged data), then to the working directory."""
        source = Path(self.source).expanduser()
        if source.is_absolute():
            candidates = [source]
        else:
            bases = [self.path.parent] if self.path is not None else []
            candidates = [base / source for base in [*bases, Path.cwd()]]
        for candidate in candidates:
            if candidate.exists():
                return candidate.resolve()
        tried = ", ".join(map(str, candidates))
        where = f" (suite {self.path})" if self.path else ""
        raise DataFileError(f"data file {self.source!r} not found{where}; looked at: {tried}")


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite YAML file (``yaml.safe_load``)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RlaifError(f"suite file {path} not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise RlaifError(f"{path}{line}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise RlaifError(f"{path}: a suite must be a YAML mapping")
    data.setdefault("name", path.stem)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in error.errors()
        )
        raise RlaifError(f"{path}: invalid suite: {problems}") from None
    suite.path = path.resolve()
    return suite


def builtin_suites() -> dict[str, Path]:
    """Built-in suite files by name."""
    folder = eval_dir() / "suites"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def find_suite(name: str) -> Suite | None:
    """The built-in suite called ``name``, or ``None``."""
    path = builtin_suites().get(name)
    return load_suite(path) if path is not None else None

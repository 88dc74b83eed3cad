"""The labels of one annotation session: the pairs, who sees which response on the left, and the
append-only labels file.

Each label is appended to ``LABELS.jsonl`` and flushed to the operating system before
:meth:`LabelStore.add` returns, so a label the page was told about survives a ``kill -9`` of the
server. One lock serialises the writes, so concurrent posts never interleave lines. The latest
line of an annotator for a pair wins; reopening the file picks up where every annotator stopped.

Labels are appended only to a new (or empty) file or to a labels file: any other file given as
the labels file (the pairs themselves, someone's notes) is refused and left as it is. Only then
is a last line cut short by a killed server removed, with a warning.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from rlaif.data import HumanLabel, PairRecord, latest_human_labels
from rlaif.data.human_labels import Strength
from rlaif.data.jsonl import DataFileError, iter_jsonl, repair_tail, validate_row
from rlaif.errors import RlaifError
from rlaif.runs.terminal import report_repair

RATINGS: dict[int, tuple[Literal["left", "right"], Strength]] = {
    1: ("left", "better"),
    2: ("left", "slightly"),
    3: ("right", "slightly"),
    4: ("right", "better"),
}
"""The four levels of the page, by key: 1 the left response is better, 2 left slightly better,
3 right slightly better, 4 right better."""


class AnnotationError(RlaifError):
    """A label that cannot be stored (unknown pair, bad rating, bad annotator name)."""


@dataclass(frozen=True)
class LabelInput:
    """What the page posts for one pair, in the terms of what it showed."""

    pair_id: str
    annotator: str
    rating: int
    """A key of :data:`RATINGS`."""
    both_unacceptable: bool = False
    note: str = ""
    seconds: float = 0.0


LABEL_LINE_START = b'{"pair_id": '
"""How every line of a labels file begins (a label's first field, as :class:`LabelStore` writes
it): a last line cut short is removed only when it begins so."""


def existing_labels(path: Path) -> list[HumanLabel]:
    """The labels already in the labels file ``path`` (none when it is missing or empty), read
    past a last line cut short; :class:`~rlaif.data.DataFileError`, before anything is written,
    when the file holds anything but labels."""
    if not path.is_file():
        return []
    labels = []
    try:
        for number, row in iter_jsonl(path, cut_short_tail=True):
            where = f"{path}:{number}"
            if "pair_id" not in row:
                raise DataFileError(f"{where}: not a label (no 'pair_id')")
            labels.append(validate_row(where, row, HumanLabel))
    except DataFileError as error:
        raise DataFileError(
            f"--out {error}; labels are appended only to a labels file of `rlaif annotate "
            "serve`, so this one is left as it is: choose another --out"
        ) from None
    return labels


def shown_order(seed: int, annotator: str, pair_id: str) -> tuple[Literal[1, 2], Literal[1, 2]]:
    """Which response ``annotator`` sees on the left, then on the right: a coin flip seeded by
    the session seed, the annotator and the pair, so it is the same on every reload."""
    if random.Random(f"{seed}:{annotator}:{pair_id}").random() < 0.5:
        return (1, 2)
    return (2, 1)


class LabelStore:
    """The pairs of a session and the labels file they are labelled into.

    ``path`` is created when missing; labels already in it are loaded, so a restarted server
    resumes. Labels naming a pair that is not in ``pairs`` are kept in the file but ignored. A
    ``path`` holding anything but labels raises :class:`~rlaif.data.DataFileError`, the file
    untouched.
    """

    def __init__(self, pairs: list[PairRecord], path: str | Path, *, seed: int = 0):
        self.pairs = pairs
        self.by_id = {pair.id: pair for pair in pairs}
        self.path = Path(path)
        self.seed = seed
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._latest = latest_human_labels(existing_labels(self.path))
        report_repair(self.path, repair_tail(self.path, line_start=LABEL_LINE_START))
        self._handle = self.path.open("a", encoding="utf-8")

    def order(self, annotator: str, pair_id: str) -> tuple[Literal[1, 2], Literal[1, 2]]:
        """The order ``annotator`` is shown the responses of ``pair_id`` (see
        :func:`shown_order`)."""
        return shown_order(self.seed, annotator, pair_id)

    def labels_of(self, annotator: str) -> dict[str, HumanLabel]:
        """The labels in force of ``annotator``, by pair id (pairs of this session only)."""
        with self._lock:
            return {
                pair_id: label
                for (who, pair_id), label in self._latest.items()
                if who == annotator and pair_id in self.by_id
            }

    def add(self, given: LabelInput) -> HumanLabel:
        """Check ``given``, append it as one flushed line and return the stored label; raises
        :class:`AnnotationError` (and writes nothing) when it is not valid."""
        if given.pair_id not in self.by_id:
            raise AnnotationError(f"unknown pair id {given.pair_id!r}")
        if given.rating not in RATINGS:
            raise AnnotationError(f"rating must be 1, 2, 3 or 4, got {given.rating!r}")
        side, strength = RATINGS[given.rating]
        shown = self.order(given.annotator, given.pair_id)
        try:
            label = HumanLabel(
                pair_id=given.pair_id,
                annotator=given.annotator,
                preferred=shown[0] if side == "left" else shown[1],
                strength=strength,
                both_unacceptable=given.both_unacceptable,
                note=given.note,
                shown=shown,
                seconds=round(given.seconds, 3),
                time=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            )
        except ValueError as error:  # pydantic's ValidationError: a bad name, note or time
            raise AnnotationError(f"invalid label: {error}") from None
        line = json.dumps(label.model_dump(mode="json"), ensure_ascii=False) + "\n"
        with self._lock:
            self._handle.write(line)
            self._handle.flush()
            self._latest[(label.annotator, label.pair_id)] = label
        return label

    def close(self) -> None:
        """Close the labels file."""
        with self._lock:
            self._handle.close()

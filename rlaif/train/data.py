"""Reading the training inputs: preference pairs, critique-and-revise records, prompt sets and
human-labelled pairs, from JSONL (or Parquet), with errors that name the file and line.

Only the columns a trainer needs are kept, so free-form fields such as ``metadata`` never reach
Arrow's schema inference. Rows are plain dicts; :func:`to_dataset` turns them into a
``datasets.Dataset``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlaif.errors import RlaifError

ROLES = ("system", "user", "assistant")


class TrainingDataError(RlaifError):
    """An input file is missing, malformed or holds no usable record."""


@dataclass
class DataStats:
    """What happened to the records of an input file."""

    read: int = 0
    """Records read."""
    kept: int = 0
    """Records used."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Records left out, by reason."""

    def drop(self, reason: str) -> None:
        """Count one record left out for ``reason``."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping for metrics.json."""
        return {"read": self.read, "kept": self.kept, "dropped": dict(self.dropped)}


def read_records(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Read every record of a JSONL, JSON-array or Parquet file as ``(location, record)`` pairs,
    where location is ``file:line`` (or ``file:row``)."""
    path = Path(path)
    if not path.is_file():
        raise TrainingDataError(f"data file not found: {path}")
    if path.suffix == ".parquet":
        from datasets import Dataset

        rows = Dataset.from_parquet(str(path)).to_list()
        return [(f"{path}:row {i + 1}", row) for i, row in enumerate(rows)]
    records: list[tuple[str, dict[str, Any]]] = []
    with path.open(encoding="utf-8") as handle:
        text = handle.read()
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise TrainingDataError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise TrainingDataError(f"{path}: item {index + 1} is not a JSON object")
            records.append((f"{path}:item {index + 1}", item))
        return records
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise TrainingDataError(f"{path}:{number}: invalid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise TrainingDataError(f"{path}:{number}: each line must be a JSON object")
        records.append((f"{path}:{number}", record))
    if not records:
        raise TrainingDataError(f"{path}: the file holds no records")
    return records


def messages(value: Any, where: str, name: str) -> list[dict[str, str]]:
    """Validate a list of ``{"role", "content"}`` messages; a bare string becomes one user turn."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise TrainingDataError(f"{where}: {name} must be a non-empty list of messages")
    result = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise TrainingDataError(
                f"{where}: {name}[{index}] must be an object with a string 'content'"
            )
        if message.get("role") not in ROLES:
            raise TrainingDataError(
                f"{where}: {name}[{index}].role must be one of {', '.join(ROLES)}, "
                f"got {message.get('role')!r}"
            )
        result.append({"role": message["role"], "content": message["content"]})
    return result


def response(value: Any, where: str, name: str) -> list[dict[str, str]]:
    """A response column: one assistant turn given as a string or as a message list."""
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    turns = messages(value, where, name)
    if turns[-1]["role"] != "assistant":
        raise TrainingDataError(f"{where}: {name} must end with an assistant turn")
    return turns


def _require(record: dict[str, Any], where: str, *names: str) -> None:
    missing = [name for name in names if name not in record]
    if missing:
        raise TrainingDataError(f"{where}: missing field(s) {', '.join(missing)}")


def load_preferences(
    path: str | Path,
    *,
    min_confidence: float | None = None,
    drop_inconsistent: bool = False,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], DataStats]:
    """Preference pairs as rows with ``prompt``, ``chosen``, ``rejected`` (message lists) and
    ``p_chosen`` (``None`` when the file gives no soft label).

    ``min_confidence`` drops pairs whose ``p_chosen`` is below it; ``drop_inconsistent`` drops pairs
    whose two presentation orders disagreed (``consistent: false``; ``null`` is kept)."""
    stats = DataStats()
    rows: list[dict[str, Any]] = []
    for where, record in read_records(path):
        stats.read += 1
        _require(record, where, "prompt", "chosen", "rejected")
        prompt = messages(record["prompt"], where, "prompt")
        chosen = response(record["chosen"], where, "chosen")
        rejected = response(record["rejected"], where, "rejected")
        p_chosen = _probability(record, where)
        if chosen == rejected:
            stats.drop("identical responses")
            continue
        if drop_inconsistent and record.get("consistent") is False:
            stats.drop("inconsistent across orders")
            continue
        if min_confidence is not None and p_chosen is not None and p_chosen < min_confidence:
            stats.drop(f"p_chosen below {min_confidence}")
            continue
        if limit is not None and len(rows) >= limit:
            stats.drop("over limit")
            continue
        rows.append(
            {
                "prompt": prompt,
                "chosen": chosen,
                "rejected": rejected,
                "p_chosen": p_chosen,
                "id": str(record.get("id", where)),
            }
        )
    stats.kept = len(rows)
    if not rows:
        raise TrainingDataError(f"{path}: no usable preference pair ({stats.as_dict()})")
    return rows, stats


def _probability(record: dict[str, Any], where: str) -> float | None:
    """``p_chosen`` from the record, or from ``margin`` (``2p - 1``) when only that is given."""
    value = record.get("p_chosen")
    if value is None and record.get("margin") is not None:
        value = (float(record["margin"]) + 1.0) / 2.0
    if value is None:
        return None
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise TrainingDataError(f"{where}: p_chosen must be a number in [0, 1], got {value!r}")
    return float(value)


def load_sft(
    path: str | Path, *, limit: int | None = None
) -> tuple[list[dict[str, Any]], DataStats]:
    """Critique-and-revise records as rows with ``messages`` ending in an assistant turn."""
    stats = DataStats()
    rows: list[dict[str, Any]] = []
    for where, record in read_records(path):
        stats.read += 1
        _require(record, where, "messages")
        turns = messages(record["messages"], where, "messages")
        if turns[-1]["role"] != "assistant" or len(turns) < 2:
            raise TrainingDataError(
                f"{where}: messages must hold a prompt and end with the assistant's turn"
            )
        if not turns[-1]["content"].strip():
            stats.drop("empty final response")
            continue
        if limit is not None and len(rows) >= limit:
            stats.drop("over limit")
            continue
        rows.append({"messages": turns})
    stats.kept = len(rows)
    if not rows:
        raise TrainingDataError(f"{path}: no usable SFT record ({stats.as_dict()})")
    return rows, stats


def load_prompts(
    path: str | Path, *, limit: int | None = None, extra_columns: list[str] | tuple[str, ...] = ()
) -> tuple[list[dict[str, Any]], DataStats]:
    """Rows with a ``prompt`` (messages ending in a user turn), one per distinct prompt, from a
    prompt set or any file whose records have a ``prompt`` column (e.g. a preference dataset).
    ``extra_columns`` are copied over from the records that have them. ``path`` may also name a
    built-in prompt set (``red_team_train``, ``red_team_test``, ``benign``)."""
    from rlaif.data.loaders import resolve_prompt_file

    path = resolve_prompt_file(path)
    stats = DataStats()
    prompts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for where, record in read_records(path):
        stats.read += 1
        _require(record, where, "prompt")
        prompt = messages(record["prompt"], where, "prompt")
        if prompt[-1]["role"] != "user":
            raise TrainingDataError(f"{where}: prompt must end with a user turn")
        key = json.dumps(prompt, sort_keys=True)
        if key in seen:
            stats.drop("duplicate prompt")
            continue
        if limit is not None and len(prompts) >= limit:
            stats.drop("over limit")
            continue
        seen.add(key)
        row: dict[str, Any] = {"prompt": prompt}
        row.update({name: record[name] for name in extra_columns if name in record})
        prompts.append(row)
    stats.kept = len(prompts)
    return prompts, stats


def prompts_within_length(
    path: str | Path,
    tokenizer: Any,
    max_prompt_length: int,
    *,
    limit: int | None = None,
    extra_columns: list[str] | tuple[str, ...] = (),
) -> tuple[list[tuple[dict[str, Any], list[int]]], DataStats]:
    """:func:`load_prompts`, then each kept row with its chat-templated token ids (generation
    prompt added); prompts over ``max_prompt_length`` tokens are dropped and counted. Raises when
    none is left."""
    rows, stats = load_prompts(path, limit=limit, extra_columns=extra_columns)
    kept = []
    for row in rows:
        ids = tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        if len(ids) > max_prompt_length:
            stats.drop(f"longer than {max_prompt_length} tokens")
            continue
        kept.append((row, list(ids)))
    stats.kept = len(kept)
    if not kept:
        raise TrainingDataError(f"{path}: no usable prompt ({stats.as_dict()})")
    return kept, stats


def split_holdout(
    rows: list[dict[str, Any]], fraction: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shuffle with ``seed`` and hold out ``fraction`` of the rows (at least one when the fraction
    is positive and there are two or more rows)."""
    if fraction <= 0 or len(rows) < 2:
        return rows, []
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    held = max(1, round(len(rows) * fraction))
    held_set = set(order[:held])
    train = [row for i, row in enumerate(rows) if i not in held_set]
    heldout = [row for i, row in enumerate(rows) if i in held_set]
    return train, heldout


def to_dataset(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """A ``datasets.Dataset`` holding only ``columns`` of ``rows``."""
    from datasets import Dataset

    return Dataset.from_dict({name: [row[name] for row in rows] for name in columns})

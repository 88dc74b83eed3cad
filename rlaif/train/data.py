"""The training inputs as rows in TRL's columns: preference pairs, critique-and-revise
conversations and prompts, read and validated by :mod:`rlaif.data` (errors name the file and
line), then filtered, with what was left out counted.

Only the columns a trainer needs are kept, so free-form fields such as ``metadata`` never reach
Arrow's schema inference. Rows are plain dicts; :func:`rlaif.data.rows_to_dataset` turns them
into a ``datasets.Dataset``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlaif.data import (
    DataFileError,
    PreferenceExample,
    PromptExample,
    SFTExample,
    iter_rows,
    resolve_prompt_file,
    validate_row,
)


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


def preference_rows(
    path: str | Path,
    *,
    min_confidence: float | None = None,
    drop_inconsistent: bool = False,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], DataStats]:
    """Preference pairs (any file :class:`~rlaif.data.PreferenceExample` fits) as rows with
    ``prompt``, ``chosen``, ``rejected`` (message lists), ``p_chosen`` (``None`` when the file
    gives no soft label) and ``id``.

    ``min_confidence`` drops pairs whose ``p_chosen`` is below it; ``drop_inconsistent`` drops pairs
    whose two presentation orders disagreed (``consistent: false``; ``null`` is kept)."""
    stats = DataStats()
    rows: list[dict[str, Any]] = []
    for where, row in iter_rows(path):
        stats.read += 1
        pair = validate_row(where, row, PreferenceExample)
        if pair.chosen == pair.rejected:
            stats.drop("identical responses")
            continue
        if drop_inconsistent and pair.consistent is False:
            stats.drop("inconsistent across orders")
            continue
        p_chosen = pair.p_chosen
        if min_confidence is not None and p_chosen is not None and p_chosen < min_confidence:
            stats.drop(f"p_chosen below {min_confidence}")
            continue
        if limit is not None and len(rows) >= limit:
            stats.drop("over limit")
            continue
        rows.append(
            {
                "prompt": pair.prompt,
                "chosen": pair.chosen,
                "rejected": pair.rejected,
                "p_chosen": p_chosen,
                "id": pair.id if pair.id is not None else where,
            }
        )
    stats.kept = len(rows)
    if not rows:
        raise DataFileError(f"{path}: no usable preference pair ({stats.as_dict()})")
    return rows, stats


def sft_rows(
    path: str | Path, *, limit: int | None = None
) -> tuple[list[dict[str, Any]], DataStats]:
    """Conversations to fine-tune on (any file :class:`~rlaif.data.SFTExample` fits) as rows
    with ``messages`` ending in an assistant turn; empty final responses are left out."""
    stats = DataStats()
    rows: list[dict[str, Any]] = []
    for where, row in iter_rows(path):
        stats.read += 1
        turns = validate_row(where, row, SFTExample).messages
        if not turns[-1]["content"].strip():
            stats.drop("empty final response")
            continue
        if limit is not None and len(rows) >= limit:
            stats.drop("over limit")
            continue
        rows.append({"messages": turns})
    stats.kept = len(rows)
    if not rows:
        raise DataFileError(f"{path}: no usable SFT record ({stats.as_dict()})")
    return rows, stats


def prompt_rows(
    path: str | Path, *, limit: int | None = None, extra_columns: list[str] | tuple[str, ...] = ()
) -> tuple[list[dict[str, Any]], DataStats]:
    """Rows with a ``prompt`` (messages ending in a user turn), one per distinct prompt, from a
    prompt set or any file whose records have a ``prompt`` column (e.g. a preference dataset).
    ``extra_columns`` are copied over from the records that have them. ``path`` may also name a
    built-in prompt set (``red_team_train``, ``red_team_test``, ``benign``)."""
    path = resolve_prompt_file(path)
    stats = DataStats()
    prompts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for where, record in iter_rows(path):
        stats.read += 1
        prompt = validate_row(where, record, PromptExample).prompt
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
    """:func:`prompt_rows`, then each kept row with its chat-templated token ids (generation
    prompt added); prompts over ``max_prompt_length`` tokens are dropped and counted. Raises when
    none is left."""
    rows, stats = prompt_rows(path, limit=limit, extra_columns=extra_columns)
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
        raise DataFileError(f"{path}: no usable prompt ({stats.as_dict()})")
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

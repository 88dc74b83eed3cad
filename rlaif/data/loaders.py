"""Readers for every file that flows between stages, and HF ``datasets`` views of them.

Prompt sets, candidates and pairs are read into validated records (errors name the file and
line). Preference and SFT files load as :class:`datasets.Dataset` with fixed features, so the
heterogeneous ``metadata`` column survives Parquet and the hub (it is a ``Json`` feature).
Human-labelled pairs (``prompt``/``chosen``/``rejected``) load as pairs with the human label kept
in ``metadata`` (Anthropic's raw hh-rlhf transcripts: :mod:`rlaif.data.hh_rlhf`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from rlaif.constitution.library import eval_dir
from rlaif.data.jsonl import DataFileError, UniqueIds, iter_rows, read_records, validate_row
from rlaif.data.records import (
    CandidateRecord,
    PairRecord,
    PreferenceRecord,
    PromptRecord,
    SFTRecord,
    as_turns,
)
from rlaif.models.types import Conversation

if TYPE_CHECKING:
    from datasets import Dataset, Features


def builtin_prompt_sets() -> dict[str, Path]:
    """The prompt sets shipped in ``eval/prompts/``, by name."""
    folder = eval_dir() / "prompts"
    return {path.stem: path for path in sorted(folder.glob("*.jsonl"))}


def resolve_prompt_file(source: str | Path) -> Path:
    """A path as given when it exists, else a built-in prompt set of that name."""
    path = Path(source)
    if path.exists():
        return path
    builtin = builtin_prompt_sets()
    if str(source) in builtin:
        return builtin[str(source)]
    raise DataFileError(
        f"prompt file {source} not found (built-in prompt sets: {', '.join(builtin) or 'none'})"
    )


def _check_conversation(where: str, prompt: Conversation) -> None:
    if not prompt:
        raise DataFileError(f"{where}: the prompt has no messages")
    if prompt[-1].get("role") != "user":
        raise DataFileError(f"{where}: the prompt must end with a user turn")


def load_prompts(source: str | Path) -> list[PromptRecord]:
    """Read a prompt set (a path, or a built-in name such as ``red_team_train``; any format
    :func:`~rlaif.data.iter_rows` reads).

    ``prompt`` may be a message list or a plain string (taken as one user turn). Ids must be
    unique.
    """
    path = resolve_prompt_file(source)
    records: list[PromptRecord] = []
    ids = UniqueIds()
    for where, value in iter_rows(path):
        if "prompt" in value:
            value = {**value, "prompt": as_turns(value["prompt"], "user")}
        record = validate_row(where, value, PromptRecord)
        _check_conversation(where, record.prompt)
        ids.check(where, record.id)
        records.append(record)
    return records


def load_candidates(path: str | Path) -> list[CandidateRecord]:
    """Read ``rlaif generate`` output (``{"id", "prompt", "responses", "model"}`` per line);
    ids must be unique."""
    return read_records(path, CandidateRecord, unique_ids=True)


def load_pairs(path: str | Path, *, seed: int = 0) -> list[PairRecord]:
    """Read ``--pairs`` input (``{"id", "prompt", "response_1", "response_2"}`` per line).

    Human-labelled lines (``chosen``/``rejected`` instead of ``response_1``/``response_2``) are
    accepted too: see :func:`pair_from_human`. Ids must be unique.
    """
    rng = random.Random(seed)
    pairs = []
    ids = UniqueIds()
    for where, value in iter_rows(path):
        if "chosen" in value and "response_1" not in value:
            pair = pair_from_human(value, rng, where=where)
        else:
            pair = validate_row(where, value, PairRecord)
        ids.check(where, pair.id)
        pairs.append(pair)
    return pairs


def pair_from_human(value: dict[str, Any], rng: random.Random, *, where: str = "") -> PairRecord:
    """Turn a human-labelled line (``prompt``, ``chosen``, ``rejected`` as strings or assistant
    turns) into a pair in a random order, keeping the label as
    ``metadata["human_preferred"]`` (1 or 2), so position cannot leak the answer."""
    try:
        chosen, rejected = _reply_text(value["chosen"]), _reply_text(value["rejected"])
        prompt = value["prompt"]
        identifier = str(value["id"])
    except (KeyError, TypeError) as error:
        raise DataFileError(f"{where}: not a human-labelled pair ({error})") from None
    if isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]
    chosen_first = rng.random() < 0.5
    first, second = (chosen, rejected) if chosen_first else (rejected, chosen)
    extra = {k: v for k, v in value.items() if k in ("source", "subset", "label_origin")}
    return PairRecord(
        id=identifier,
        prompt=prompt,
        response_1=first,
        response_2=second,
        metadata={"human_preferred": 1 if chosen_first else 2, **extra},
    )


def _reply_text(reply: Any) -> str:
    if isinstance(reply, str):
        return reply
    if isinstance(reply, list) and reply and isinstance(reply[-1], dict):
        return str(reply[-1]["content"])
    raise TypeError(f"expected a string or a list of messages, got {type(reply).__name__}")


def _features(kind: str) -> Features:
    from datasets import Features, Json, List, Value  # heavy: kept off ``import rlaif.data``

    messages = List({"role": Value("string"), "content": Value("string")})
    if kind == "preferences":
        return Features(
            {
                "prompt": messages,
                "chosen": messages,
                "rejected": messages,
                "p_chosen": Value("float64"),
                "margin": Value("float64"),
                "consistent": Value("bool"),
                "principles": List(Value("string")),
                "judge": Value("string"),
                "strategy": Value("string"),
                "id": Value("string"),
                "metadata": Json(),
            }
        )
    if kind == "sft":
        return Features(
            {
                "messages": messages,
                "initial": Value("string"),
                "critiques": List(Value("string")),
                "revisions": List(Value("string")),
                "principles": List(Value("string")),
                "id": Value("string"),
                "metadata": Json(),
            }
        )
    raise ValueError(f"no fixed features for {kind!r}")


def rows_to_dataset(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Dataset:
    """A :class:`datasets.Dataset` holding only ``columns`` of ``rows`` (the trainers' input)."""
    from datasets import Dataset  # heavy: kept off ``import rlaif.data``

    return Dataset.from_dict({name: [row[name] for row in rows] for name in columns})


def records_to_dataset(records: Sequence[BaseModel] | Iterable[BaseModel], kind: str) -> Dataset:
    """A :class:`datasets.Dataset` of preference (``kind="preferences"``) or SFT records, with
    fixed features (all columns, ``metadata`` as JSON)."""
    from datasets import Dataset  # heavy: kept off ``import rlaif.data``

    rows = [r.model_dump(mode="json") for r in records]
    features = _features(kind)
    if not rows:
        return Dataset.from_dict({name: [] for name in features}, features=features)
    return Dataset.from_list(rows, features=features)


def load_preferences(path: str | Path) -> Dataset:
    """A preference file (``rlaif label`` output, JSONL or Parquet) as a ``Dataset`` with TRL's
    ``prompt``/``chosen``/``rejected`` columns first."""
    return _load(path, PreferenceRecord, "preferences")


def load_sft(path: str | Path) -> Dataset:
    """An SFT file (``rlaif critique`` output, JSONL or Parquet) as a ``Dataset`` with
    ``messages`` first."""
    return _load(path, SFTRecord, "sft")


def _load(path: str | Path, record_type: type[BaseModel], kind: str) -> Dataset:
    path = Path(path)
    if path.suffix == ".parquet":
        from datasets import Dataset  # heavy: kept off ``import rlaif.data``

        return Dataset.from_parquet(str(path), features=_features(kind))
    return records_to_dataset(read_records(path, record_type), kind)


def iter_hub_rows(
    repo_id: str, *, data_dir: str | None = None, split: str = "train"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, row)`` for a Hugging Face hub dataset, ``where`` being
    ``hf:repo:row N``; a hub that cannot be reached raises :class:`DataFileError` saying to pass
    a local file instead."""
    try:
        import datasets  # heavy: only hub readers pay for it

        dataset = datasets.load_dataset(repo_id, data_dir=data_dir, split=split)
    except Exception as error:  # the hub raises many types: connection, offline mode, 404
        raise DataFileError(
            f"cannot load hf:{repo_id} (data_dir={data_dir}, split={split}) "
            f"from the Hugging Face hub: {type(error).__name__}: {error}. "
            "Without network access, download the file elsewhere and pass its local path."
        ) from None
    for row, record in enumerate(dataset, start=1):
        yield f"hf:{repo_id}:row {row}", dict(record)

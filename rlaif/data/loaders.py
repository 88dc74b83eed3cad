"""Readers for every file that flows between stages, and HF ``datasets`` views of them.

Prompt sets, candidates and pairs are read into validated records (errors name the file and
line). Preference and SFT files load as :class:`datasets.Dataset` with fixed features, so the
heterogeneous ``metadata`` column survives Parquet and the hub (it is a ``Json`` feature).
Human-labelled pairs (``prompt``/``chosen``/``rejected``) and Anthropic's raw hh-rlhf transcripts
load as pairs with the human label kept in ``metadata``.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from rlaif.constitution.library import eval_dir
from rlaif.data.jsonl import DataFileError, iter_jsonl, read_records
from rlaif.data.records import (
    CandidateRecord,
    Messages,
    PairRecord,
    PreferenceRecord,
    PromptRecord,
    SFTRecord,
)

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


def _check_conversation(path: Path, number: int, prompt: Messages) -> None:
    if not prompt:
        raise DataFileError(f"{path}:{number}: the prompt has no messages")
    if prompt[-1].get("role") != "user":
        raise DataFileError(f"{path}:{number}: the prompt must end with a user turn")


def load_prompts(source: str | Path) -> list[PromptRecord]:
    """Read a prompt set (a path, or a built-in name such as ``red_team_train``).

    ``prompt`` may be a message list or a plain string (taken as one user turn). Ids must be
    unique.
    """
    path = resolve_prompt_file(source)
    records: list[PromptRecord] = []
    seen: set[str] = set()
    for number, value in iter_jsonl(path):
        if isinstance(value.get("prompt"), str):
            value = {**value, "prompt": [{"role": "user", "content": value["prompt"]}]}
        record = _validate(path, number, value, PromptRecord)
        _check_conversation(path, number, record.prompt)
        if record.id in seen:
            raise DataFileError(f"{path}:{number}: duplicate id {record.id!r}")
        seen.add(record.id)
        records.append(record)
    return records


def _validate(path: Path, number: int, value: dict[str, Any], record_type: type[BaseModel]) -> Any:
    try:
        return record_type.model_validate(value)
    except ValidationError as error:
        issues = "; ".join(
            f"{'.'.join(str(x) for x in issue['loc']) or 'record'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise DataFileError(
            f"{path}:{number}: not a valid {record_type.__name__}: {issues}"
        ) from None


def load_candidates(path: str | Path) -> list[CandidateRecord]:
    """Read ``rlaif generate`` output (``{"id", "prompt", "responses", "model"}`` per line)."""
    return read_records(path, CandidateRecord)


def load_pairs(path: str | Path, *, seed: int = 0) -> list[PairRecord]:
    """Read ``--pairs`` input (``{"id", "prompt", "response_1", "response_2"}`` per line).

    Human-labelled lines (``chosen``/``rejected`` instead of ``response_1``/``response_2``) are
    accepted too: see :func:`pair_from_human`.
    """
    path = Path(path)
    rng = random.Random(seed)
    pairs = []
    for number, value in iter_jsonl(path):
        if "chosen" in value and "response_1" not in value:
            pairs.append(pair_from_human(value, rng, where=f"{path}:{number}"))
        else:
            pairs.append(_validate(path, number, value, PairRecord))
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


def parse_hh_transcript(text: str) -> Messages:
    """Split an hh-rlhf transcript (``\\n\\nHuman: ...\\n\\nAssistant: ...``) into messages."""
    messages: Messages = []
    markers = {"\n\nHuman:": "user", "\n\nAssistant:": "assistant"}
    position = 0
    role: str | None = None
    while True:
        found = [(text.find(m, position), m) for m in markers]
        found = [(i, m) for i, m in found if i >= 0]
        end = min(found)[0] if found else len(text)
        if role is not None:
            messages.append({"role": role, "content": text[position:end].strip()})
        if not found:
            return messages
        index, marker = min(found)
        role = markers[marker]
        position = index + len(marker)


def load_hh_rlhf(path: str | Path, *, seed: int = 0) -> list[PairRecord]:
    """Read Anthropic's raw hh-rlhf format (``{"chosen": transcript, "rejected": transcript}``,
    ``.jsonl`` or ``.jsonl.gz``) as pairs in random order with the human label in metadata.

    Lines whose two transcripts do not share the turns before the final reply are reported.
    """
    path = Path(path)
    opener: Any = gzip.open if path.suffix == ".gz" else open
    rng = random.Random(seed)
    pairs = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            value = json.loads(line)
            chosen = parse_hh_transcript(value["chosen"])
            rejected = parse_hh_transcript(value["rejected"])
            if chosen[:-1] != rejected[:-1] or chosen[-1]["role"] != "assistant":
                raise DataFileError(f"{path}:{number}: chosen and rejected differ before the reply")
            human = {
                "id": f"{path.name}/{number - 1}",
                "prompt": chosen[:-1],
                "chosen": chosen[-1]["content"],
                "rejected": rejected[-1]["content"],
            }
            pairs.append(pair_from_human(human, rng, where=f"{path}:{number}"))
    return pairs


def _features(kind: str) -> Features:
    from datasets import Features, Json, List, Value

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


def records_to_dataset(records: Sequence[BaseModel] | Iterable[BaseModel], kind: str) -> Dataset:
    """A :class:`datasets.Dataset` of preference (``kind="preferences"``) or SFT records."""
    from datasets import Dataset

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
        from datasets import Dataset

        return Dataset.from_parquet(str(path), features=_features(kind))
    return records_to_dataset(read_records(path, record_type), kind)


def load_hub_dataset(repo_id: str, *, split: str = "train", **options: Any) -> Dataset:
    """A dataset from the Hugging Face hub (or any ``datasets.load_dataset`` source)."""
    from datasets import load_dataset

    return load_dataset(repo_id, split=split, **options)

"""Prompt sets for policy evaluation: JSONL ``{"id", "prompt": [messages], "category"}``
(``eval/prompts/*.jsonl`` or any file in that format).

A prompt is **benign** when its category starts with ``benign`` (``benign``,
``benign-lookalike``; with no category, when its file name contains ``benign``); every other
prompt is a **red-team** request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from rlaif.constitution.library import eval_dir
from rlaif.data.records import PromptRecord
from rlaif.errors import RlaifError
from rlaif.eval.loaders import read_records, select_subset

BENIGN, RED_TEAM = "benign", "red-team"


@dataclass(frozen=True)
class EvalPrompt:
    """A prompt with the group it is scored in (``red-team`` or ``benign``)."""

    record: PromptRecord
    group: str
    source: str

    @property
    def id(self) -> str:
        """The prompt id."""
        return self.record.id


def resolve_prompt_file(name: str) -> Path:
    """A prompt file path, or a built-in set name (``eval/prompts/<name>.jsonl``)."""
    path = Path(name)
    if path.is_file():
        return path
    builtin = eval_dir() / "prompts" / f"{name.removesuffix('.jsonl')}.jsonl"
    if builtin.is_file():
        return builtin
    folder = eval_dir() / "prompts"
    known = sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []
    raise RlaifError(
        f"prompt file {name!r} not found (built-in sets: {', '.join(known) or 'none installed'})"
    )


def load_prompts(names: Sequence[str], *, limit: int | None = None, seed: int = 0):
    """Prompts from every file, ids unique across files; ``limit`` keeps a seeded random subset
    per file (so red-team and benign sets keep their share)."""
    prompts: list[EvalPrompt] = []
    seen: dict[str, str] = {}
    for name in names:
        path = resolve_prompt_file(name)
        from_file: list[EvalPrompt] = []
        for where, raw in read_records(path):
            try:
                record = PromptRecord.model_validate(raw)
            except ValidationError as error:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or '(record)'}: {e['msg']}"
                    for e in error.errors()
                )
                raise RlaifError(f"{where}: not a prompt record ({problems})") from None
            if record.id in seen:
                raise RlaifError(f"{where}: prompt id {record.id!r} also in {seen[record.id]}")
            if not record.prompt or record.prompt[-1].get("role") != "user":
                raise RlaifError(f"{where}: the prompt must end with a user turn")
            seen[record.id] = where
            from_file.append(EvalPrompt(record, _group(record, path), path.name))
        if not from_file:
            raise RlaifError(f"{path}: no prompts")
        prompts.extend(select_subset(from_file, limit, seed))
    return prompts


def _group(record: PromptRecord, path: Path) -> str:
    if record.category:
        return BENIGN if record.category.lower().startswith(BENIGN) else RED_TEAM
    return BENIGN if BENIGN in path.stem.lower() else RED_TEAM

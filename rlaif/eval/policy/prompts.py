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

from rlaif.data import PromptRecord, load_prompts, resolve_prompt_file
from rlaif.errors import RlaifError
from rlaif.eval.loaders import select_subset

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


def load_eval_prompts(
    names: Sequence[str], *, limit: int | None = None, seed: int = 0
) -> list[EvalPrompt]:
    """Prompts from every file (paths or built-in set names, read by
    :func:`rlaif.data.load_prompts`), each with its scoring group, ids unique across files;
    ``limit`` keeps a seeded random subset per file (so red-team and benign sets keep their
    share)."""
    prompts: list[EvalPrompt] = []
    seen: dict[str, str] = {}
    for name in names:
        path = resolve_prompt_file(name)
        from_file = [EvalPrompt(r, _group(r, path), path.name) for r in load_prompts(path)]
        if not from_file:
            raise RlaifError(f"{path}: no prompts")
        for prompt in from_file:
            if prompt.id in seen:
                raise RlaifError(f"{path}: prompt id {prompt.id!r} also in {seen[prompt.id]}")
            seen[prompt.id] = path.name
        prompts.extend(select_subset(from_file, limit, seed))
    return prompts


def _group(record: PromptRecord, path: Path) -> str:
    if record.category:
        return BENIGN if record.category.lower().startswith(BENIGN) else RED_TEAM
    return BENIGN if BENIGN in path.stem.lower() else RED_TEAM

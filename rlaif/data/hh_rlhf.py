"""Anthropic's HH-RLHF format: each record holds two transcripts (``chosen`` and ``rejected``)
written as ``\\n\\nHuman: ...\\n\\nAssistant: ...``, which differ only in the final reply.

:func:`parse_hh_transcript` is the one parser of that format; :func:`split_hh_pair` turns a
record's two transcripts into the shared conversation and the two replies, and
:func:`load_hh_rlhf` reads a raw ``.jsonl``/``.jsonl.gz`` file as pairs to label.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from rlaif.data.jsonl import DataFileError, iter_jsonl
from rlaif.data.loaders import pair_from_human
from rlaif.data.records import PairRecord
from rlaif.models.types import Conversation

_MARKER = re.compile(r"\n\n(Human|Assistant):")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def parse_hh_transcript(text: str) -> Conversation:
    """Split an HH-RLHF transcript into chat turns (``Human`` → user, ``Assistant`` →
    assistant), stripping whitespace around each turn.

    Raises ``ValueError`` when there is text before the first marker or no turn at all."""
    parts = _MARKER.split(text)
    if parts[0].strip():
        raise ValueError("text before the first 'Human:'/'Assistant:' marker")
    turns = [
        {"role": _ROLES[role], "content": content.strip()}
        for role, content in zip(parts[1::2], parts[2::2], strict=True)
    ]
    if not turns:
        raise ValueError("no 'Human:'/'Assistant:' turn found")
    return turns


def split_hh_pair(chosen: str, rejected: str) -> tuple[Conversation, str, str]:
    """The conversation the two transcripts of an HH-RLHF record share, and the chosen and
    rejected final replies.

    Raises ``ValueError`` with the reason when the two differ before their final turn, a
    transcript does not end in an assistant turn, or there is no conversation before it."""
    chosen_turns = parse_hh_transcript(chosen)
    rejected_turns = parse_hh_transcript(rejected)
    if chosen_turns[:-1] != rejected_turns[:-1]:
        raise ValueError("chosen and rejected differ before their final assistant turn")
    if chosen_turns[-1]["role"] != "assistant" or rejected_turns[-1]["role"] != "assistant":
        raise ValueError("a transcript does not end with an assistant turn")
    if not chosen_turns[:-1]:
        raise ValueError("no conversation before the final assistant turn")
    return chosen_turns[:-1], chosen_turns[-1]["content"], rejected_turns[-1]["content"]


def load_hh_rlhf(path: str | Path, *, seed: int = 0) -> list[PairRecord]:
    """Read Anthropic's raw hh-rlhf format (``{"chosen": transcript, "rejected": transcript}``,
    ``.jsonl`` or ``.jsonl.gz``) as pairs in random order with the human label in metadata.

    Lines whose two transcripts do not share the turns before the final reply are reported.
    """
    path = Path(path)
    rng = random.Random(seed)
    pairs = []
    for number, value in iter_jsonl(path):
        where = f"{path}:{number}"
        try:
            prompt, chosen, rejected = split_hh_pair(value["chosen"], value["rejected"])
        except (KeyError, TypeError, ValueError) as error:
            raise DataFileError(f"{where}: {error}") from None
        human = {"id": f"{path.name}/{number - 1}", "prompt": prompt}
        pairs.append(
            pair_from_human({**human, "chosen": chosen, "rejected": rejected}, rng, where=where)
        )
    return pairs

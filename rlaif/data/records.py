"""Record schemas of the files that flow between stages (JSONL, one record per line).

Conversational columns follow TRL's standard format: ``prompt`` is a list of messages,
``chosen``/``rejected`` are lists holding the assistant turn, so TRL trainers take them as is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Messages = list[dict[str, str]]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PromptRecord(_Record):
    """A prompt set line (``eval/prompts/*.jsonl``)."""

    id: str
    """Unique id within the set."""
    prompt: Messages
    """The conversation to respond to, ending with a user turn."""
    category: str = ""
    """Harm category or ``benign``."""


class CandidateRecord(_Record):
    """Sampled responses for one prompt (``rlaif generate`` output, ``--candidates`` input)."""

    id: str
    """Prompt id."""
    prompt: Messages
    """The conversation."""
    responses: list[str]
    """K sampled responses."""
    model: str
    """``provider/model`` that sampled them."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Sampling settings and anything else worth keeping (temperature, seeds, finish reasons)."""


class PairRecord(_Record):
    """Two responses to compare (``--pairs`` input)."""

    id: str
    """Pair id."""
    prompt: Messages
    """The conversation."""
    response_1: str
    """First response."""
    response_2: str
    """Second response."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Where the pair came from (source ids, a human label when known, ...)."""


class PreferenceRecord(_Record):
    """One AI-labelled preference pair; TRL's standard columns first."""

    prompt: Messages
    """The conversation (TRL ``prompt``)."""
    chosen: Messages
    """The preferred assistant turn, as ``[{"role": "assistant", "content": ...}]``."""
    rejected: Messages
    """The other assistant turn."""
    p_chosen: float
    """Soft label: probability that ``chosen`` is better, in [0.5, 1]."""
    margin: float
    """Confidence margin derived from ``p_chosen``: ``2 * p_chosen - 1`` in [0, 1]."""
    consistent: bool | None
    """Whether both presentation orders agreed (``None`` if only one order was judged)."""
    principles: list[str]
    """Principle ids behind the label."""
    judge: str
    """``provider/model`` of the judge, or ``construction`` when preferred by construction."""
    strategy: str
    """How the pair was built: ``judge``, ``revision`` or ``contrastive``."""
    id: str
    """Pair id."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else worth keeping (orders, per-order probabilities, source ids)."""


class SFTRecord(_Record):
    """One critique-and-revise result: train on ``messages``."""

    messages: Messages
    """The conversation ending in the final revision (TRL conversational ``messages``)."""
    initial: str
    """The policy's first response."""
    critiques: list[str]
    """One critique per round."""
    revisions: list[str]
    """One revision per round."""
    principles: list[str]
    """Principle id used in each round."""
    id: str
    """Prompt id."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Per-round notes, e.g. revisions that came back empty or unchanged."""


class SkippedRecord(_Record):
    """A pair kept out of the training file, with the reason (side file ``*.skipped.jsonl``).

    Missing verdicts, ties below the margin threshold, identical responses and failed
    generations land here, so nothing is silently dropped and nothing is guessed.
    """

    id: str
    """Pair id (or prompt id when no pair could be built)."""
    prompt: Messages
    """The conversation."""
    response_1: str | None = None
    """First response, when there was one."""
    response_2: str | None = None
    """Second response, when there was one."""
    reason: str
    """Why the pair is not in the training file."""
    p_response_1: float | None = None
    """The judge's probability that response 1 is better, when it gave one (ties)."""
    principles: list[str] = Field(default_factory=list)
    """Principle ids involved."""
    judge: str = ""
    """``provider/model`` of the judge, when one was asked."""
    strategy: str = ""
    """``judge``, ``revision`` or ``contrastive``; ``critique`` for the supervised stage."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Per-order probabilities, errors and other details."""

"""Record schemas of the files that flow between stages (JSONL, one record per line).

Conversational columns follow TRL's standard format: ``prompt`` is a list of messages,
``chosen``/``rejected`` are lists holding the assistant turn, so TRL trainers take them as is.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from rlaif.config import describe_validation_error
from rlaif.models.types import Conversation

_CONVERSATION: TypeAdapter[Conversation] = TypeAdapter(Conversation)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PromptRecord(_Record):
    """A prompt set line (``eval/prompts/*.jsonl``)."""

    id: str
    """Unique id within the set."""
    prompt: Conversation
    """The conversation to respond to, ending with a user turn."""
    category: str = ""
    """Harm category or ``benign``."""


class CandidateRecord(_Record):
    """Sampled responses for one prompt (``rlaif generate`` output, ``--candidates`` input)."""

    id: str
    """Prompt id."""
    prompt: Conversation
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
    prompt: Conversation
    """The conversation."""
    response_1: str
    """First response."""
    response_2: str
    """Second response."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Where the pair came from (source ids, a human label when known, ...)."""


class PreferenceRecord(_Record):
    """One AI-labelled preference pair; TRL's standard columns first."""

    prompt: Conversation
    """The conversation (TRL ``prompt``)."""
    chosen: Conversation
    """The preferred assistant turn, as ``[{"role": "assistant", "content": ...}]``."""
    rejected: Conversation
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

    messages: Conversation
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


FAILED = "failed"
"""Skip category of an item whose model call failed (after retries): the next run into the same
output tries it again."""
MISSING_VERDICT = "missing verdict"
"""Skip category of a judgment whose answer could not be read: tried again only when asked
(``rlaif label --retry-failed``)."""
UNFINISHED = (FAILED, MISSING_VERDICT)
"""Skip categories of items the judge or model never answered usably (a run made of nothing
else has failed)."""


def skip_category(reason: str) -> str:
    """The category of a skip reason (the text before the first colon)."""
    return reason.split(":", 1)[0].strip()


class SkippedRecord(_Record):
    """A pair kept out of the training file, with the reason (side file ``*.skipped.jsonl``).

    Missing verdicts, ties below the margin threshold, identical responses and failed
    generations land here, so nothing is silently dropped and nothing is guessed. The reason
    starts with its category (:func:`skip_category`): :data:`FAILED` items are tried again by
    the next run.
    """

    id: str
    """Pair id (or prompt id when no pair could be built)."""
    prompt: Conversation
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


def as_turns(value: Any, role: str) -> Any:
    """A bare string as one ``role`` turn; anything else unchanged (the field's type checks it).
    Input files may give a prompt or a response as plain text."""
    return [{"role": role, "content": value}] if isinstance(value, str) else value


def conversation_from(value: Any, role: str) -> Conversation:
    """A validated message list from ``value``: a list of ``{role, content}`` messages, or a bare
    string taken as one ``role`` turn. Raises ``ValueError`` saying what is wrong."""
    try:
        return _CONVERSATION.validate_python(as_turns(value, role))
    except ValidationError as error:
        raise ValueError(
            "expected a string or a list of {role, content} messages "
            f"({describe_validation_error(error)}), got {value!r:.80}"
        ) from None


class _Example(BaseModel):
    """Base of what a trainer reads from any file with the right columns: other keys are ignored,
    so rlaif's own records, human-labelled pair files and TRL datasets all fit."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)


class PreferenceExample(_Example):
    """A preference pair as the reward, DPO trainers read it: a :class:`PreferenceRecord`, a
    human-labelled pair (``chosen``/``rejected`` as strings, no soft label) or TRL's
    preference columns."""

    prompt: Conversation = Field(min_length=1)
    """The conversation; a string is one user turn."""
    chosen: Conversation = Field(min_length=1)
    """The preferred reply, ending with an assistant turn; a string is one assistant turn."""
    rejected: Conversation = Field(min_length=1)
    """The other reply, in the same form."""
    p_chosen: float | None = Field(default=None, ge=0.0, le=1.0)
    """Soft label, or ``None`` when the file gives none (taken from ``margin`` = ``2p - 1`` when
    only that is given)."""
    consistent: bool | None = None
    """Whether both presentation orders agreed, when the judge was asked both."""
    id: str | None = None
    """Pair id, when the file gives one."""

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = {
            **value,
            "prompt": as_turns(value.get("prompt"), "user"),
            "chosen": as_turns(value.get("chosen"), "assistant"),
            "rejected": as_turns(value.get("rejected"), "assistant"),
        }
        value = {k: v for k, v in value.items() if v is not None}
        margin = value.get("margin")
        if "p_chosen" not in value and isinstance(margin, (int, float)):
            value["p_chosen"] = (float(margin) + 1.0) / 2.0
        return value

    @field_validator("chosen", "rejected")
    @classmethod
    def _ends_with_assistant(cls, turns: Conversation) -> Conversation:
        if turns[-1]["role"] != "assistant":
            raise ValueError("must end with an assistant turn")
        return turns


class SFTExample(_Example):
    """A conversation to fine-tune on: an :class:`SFTRecord` or any row with TRL's ``messages``."""

    messages: Conversation
    """A prompt followed by the assistant's turn to learn."""

    @field_validator("messages")
    @classmethod
    def _prompt_then_reply(cls, turns: Conversation) -> Conversation:
        if len(turns) < 2 or turns[-1]["role"] != "assistant":
            raise ValueError("messages must hold a prompt and end with the assistant's turn")
        return turns


class PromptExample(_Example):
    """A prompt for online training or generation: a :class:`PromptRecord` or any row with a
    ``prompt`` column (a preference file, say); other columns are kept (``extra``)."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)

    prompt: Conversation = Field(min_length=1)
    """The conversation to respond to, ending with a user turn; a string is one user turn."""

    @field_validator("prompt", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return as_turns(value, "user")

    @field_validator("prompt")
    @classmethod
    def _ends_with_user(cls, turns: Conversation) -> Conversation:
        if turns[-1]["role"] != "user":
            raise ValueError("must end with a user turn")
        return turns

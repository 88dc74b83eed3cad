"""Critique-and-revise, the supervised stage of Constitutional AI.

For each round a principle is sampled from those that fit the prompt (the constitution's general
principles plus the category principles of the prompt's category, see
:meth:`rlaif.constitution.Constitution.pool`), the model critiques the current response against it,
then rewrites the response in light of the critique. The result is one SFT record whose ``messages``
end in the final revision, with every critique, revision and principle kept for inspection.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any

from rlaif.constitution import Constitution, NoApplicablePrincipleError, Principle
from rlaif.data.records import SFTRecord
from rlaif.errors import ConfigError
from rlaif.judge.framing import critic_messages
from rlaif.judge.shortening import DEFAULT_MAX_PROMPT_CHARS, shorten_conversation
from rlaif.models import (
    Completion,
    Conversation,
    GenerateConfig,
    Model,
    blocking,
)
from rlaif.runs import CallFailure, attempt

_PREAMBLE = re.compile(
    r"^\s*(?:(?:here(?:'s| is) (?:the |a |my )?revised response|revised response|revision)"
    r"\s*[:\-]\s*)",
    re.IGNORECASE,
)


def clean_revision(text: str) -> str:
    """Strip whitespace and a leading label such as ``Revised response:`` that models add
    despite being asked not to."""
    return _PREAMBLE.sub("", text.strip(), count=1).strip()


class Critic:
    """Runs critique-and-revise rounds with one model.

    Args:
        model: the model that writes critiques and revisions.
        constitution: principles, templates and few-shot examples.
        rounds: rounds per prompt (default: the constitution's ``rounds``).
        seed: seeds principle sampling; the same prompt id always gets the same principles.
        temperature: sampling temperature of critiques and revisions.
        max_tokens: token budget of each critique and each revision.
        max_prompt_chars: a conversation longer than this is shortened for the critic (see
            :func:`~rlaif.judge.shortening.shorten_conversation`; noted in
            ``metadata["notes"]``); the record keeps the whole conversation.
    """

    def __init__(
        self,
        model: Model,
        constitution: Constitution,
        *,
        rounds: int | None = None,
        seed: int = 0,
        temperature: float = 0.0,
        max_tokens: int = 256,
        max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
    ):
        self.rounds = rounds if rounds is not None else constitution.rounds
        if self.rounds < 1:
            raise ConfigError(f"rounds must be at least 1, got {self.rounds}")
        if max_prompt_chars < 1:
            raise ConfigError(f"max_prompt_chars must be at least 1, got {max_prompt_chars}")
        if not constitution.eligible("critique"):
            raise ConfigError(f"constitution {constitution.name!r} has no principles")
        self.model = model
        self.constitution = constitution
        self.seed = seed
        self.max_prompt_chars = max_prompt_chars
        self.config = GenerateConfig(temperature=temperature, max_tokens=max_tokens, seed=seed)
        self._examples = [
            message["content"]
            for conversation in constitution.few_shot.for_stage("revision")
            for message in conversation
            if message["role"] == "assistant"
        ]

    @property
    def name(self) -> str:
        """``provider/model`` of the critic."""
        return self.model.name

    def settings(self) -> dict[str, Any]:
        """Everything that shapes this critic's records (for manifests)."""
        return {
            "critic": self.name,
            "rounds": self.rounds,
            "critic_seed": self.seed,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "max_prompt_chars": self.max_prompt_chars,
        }

    def principles_for(
        self,
        prompt_id: str,
        prompt: Conversation | None = None,
        *,
        category: str | None = None,
    ) -> list[Principle]:
        """The principle of each round for this prompt: distinct while the pool lasts.

        The pool is :meth:`Constitution.pool` for ``prompt`` and ``category``: in ``matched``
        sampling, the general principles plus the category principles that fit this prompt
        (without ``prompt`` and ``category``, the general ones only); when fewer fit than there
        are rounds, they repeat in drawn order. Raises :class:`NoApplicablePrincipleError` when
        no principle fits.
        """
        eligible = self.constitution.eligible("critique")
        rng = random.Random(f"{self.seed}:{prompt_id}")
        drawn = self.constitution.sample(
            min(self.rounds, len(eligible)),
            rng,
            stage="critique",
            prompt=prompt,
            category=category,
        )
        return [drawn[i % len(drawn)] for i in range(self.rounds)]

    async def run(
        self, prompt: Conversation, response: str, *, prompt_id: str, category: str | None = None
    ) -> SFTRecord:
        """Critique and revise ``response`` for ``rounds`` rounds.

        ``category`` is the prompt's category from its prompt set (``violence-and-weapons``,
        ``benign``, ...), kept in ``metadata["category"]``; it decides which category principles
        the rounds may use (without it, the keyword matcher reads the prompt).

        A revision that comes back empty or unchanged is recorded as such in
        ``metadata["rounds"]`` and the round's input carries on; a failed call stops the rounds
        and is recorded in ``metadata["error"]`` (the record's ``messages`` then end in the last
        good response), as is a prompt that no principle fits (then there are no rounds).
        """
        current = response
        critiques: list[str] = []
        revisions: list[str] = []
        used: list[str] = []
        notes: list[dict[str, Any]] = []
        usage = {"calls": 0, "cache_hits": 0, "input_tokens": 0, "output_tokens": 0, "cost": 0.0}
        error: str | None = None
        shown, shortened = shorten_conversation(prompt, self.max_prompt_chars, reader="critic")
        try:
            principles = self.principles_for(prompt_id, prompt, category=category)
        except NoApplicablePrincipleError as failure:  # recorded like a failed round
            principles = []
            error = f"principles: {failure}"
        for number, principle in enumerate(principles, start=1):
            note: dict[str, Any] = {"round": number, "principle": principle.id}
            asked = await attempt(self._round(note, usage, shown, current, principle))
            if isinstance(asked, CallFailure):  # recorded on the record, never silently dropped
                error = f"round {number}: {asked}"
                note["error"] = error
                notes.append(note)
                break
            critique, revision = asked
            text = clean_revision(revision.text) if revision is not None else ""
            critiques.append(critique.text.strip())
            revisions.append(text)
            used.append(principle.id)
            status = (
                _revision_status(text, current, revision, self._examples)
                if revision is not None
                else RevisionStatus.SKIPPED
            )
            note["revision"] = status.value
            if status.adopted:
                current = text
            notes.append(note)
        metadata: dict[str, Any] = {"rounds": notes, "critic": self.name, "usage": usage}
        if category:
            metadata["category"] = category
        if error is not None:
            metadata["error"] = error
        if shortened is not None:
            metadata["notes"] = [shortened]
        return SFTRecord(
            messages=[*prompt, {"role": "assistant", "content": current}],
            initial=response,
            critiques=critiques,
            revisions=revisions,
            principles=used,
            id=prompt_id,
            metadata=metadata,
        )

    run_sync = blocking(run)

    async def _round(
        self,
        note: dict[str, Any],
        usage: dict[str, Any],
        prompt: Conversation,
        current: str,
        principle: Principle,
    ) -> tuple[Completion, Completion | None]:
        """One round's critique of ``current`` under ``principle``, then its revision (none
        when the critique is empty); ``note`` records whether the critique said anything."""
        critique = await self._ask(
            "critique", usage, prompt=prompt, response=current, principle=principle
        )
        note["critique"] = "ok" if critique.text.strip() else "empty"
        if not critique.text.strip():
            return critique, None
        revision = await self._ask(
            "revision",
            usage,
            prompt=prompt,
            response=current,
            critique=critique.text.strip(),
            principle=principle,
        )
        return critique, revision

    async def _ask(self, stage: str, usage: dict[str, Any], **variables: Any) -> Completion:
        messages = critic_messages(self.constitution, stage, **variables)
        completion = await self.model.generate(messages, self.config)
        usage["calls"] += 1
        usage["cache_hits"] += int(completion.cached)
        usage["input_tokens"] += completion.input_tokens
        usage["output_tokens"] += completion.output_tokens
        usage["cost"] += completion.cost_usd or 0.0
        return completion


COPY_SIMILARITY = 0.8
"""A revision at least this similar (difflib's ratio, case and spacing ignored) to one of the
constitution's worked revisions is a copy of the example, not a revision of the response."""


def copies_example(text: str, examples: Iterable[str]) -> bool:
    """Whether ``text`` repeats one of ``examples`` (a few-shot answer) nearly word for word."""
    normal = " ".join(text.lower().split())
    for example in examples:
        matcher = SequenceMatcher(None, normal, " ".join(example.lower().split()), autojunk=False)
        if matcher.quick_ratio() >= COPY_SIMILARITY and matcher.ratio() >= COPY_SIMILARITY:
            return True
    return False


class RevisionStatus(StrEnum):
    """What became of one round's revision; its value is what a record's ``rounds`` store."""

    OK = "ok"
    TRUNCATED = "truncated"
    """Adopted, though the critic ran out of tokens."""
    UNCHANGED = "unchanged"
    EMPTY = "empty"
    COPIED_EXAMPLE = "copied example"
    """Repeated one of the constitution's worked revisions (:func:`copies_example`)."""
    SKIPPED = "skipped (empty critique)"

    @property
    def adopted(self) -> bool:
        """Whether the revision became the response the next round critiques."""
        return self in (RevisionStatus.OK, RevisionStatus.TRUNCATED)

    @property
    def counted_as(self) -> str:
        """The ``rounds_<count>`` of :func:`revision_counts` it is counted in."""
        if self.adopted:
            return "adopted"
        return "other" if self is RevisionStatus.SKIPPED else self.name.lower()


def _revision_status(
    text: str, current: str, completion: Completion, examples: Iterable[str] = ()
) -> RevisionStatus:
    if not text:
        return RevisionStatus.EMPTY
    if text == current.strip():
        return RevisionStatus.UNCHANGED
    if copies_example(text, examples):  # not adopted: the round's input carries on
        return RevisionStatus.COPIED_EXAMPLE
    length = completion.finish_reason == "length"
    return RevisionStatus.TRUNCATED if length else RevisionStatus.OK


def revision_counts(records: Iterable[SFTRecord]) -> dict[str, int]:
    """How a critique run's records came out: ``revised`` (the target differs from the policy's
    first answer) or ``unchanged``, and over all rounds how many revisions were adopted,
    came back unchanged or empty, or ``copied_example`` (repeated a few-shot answer)."""
    counts = {"records": 0, "revised": 0, "unchanged": 0}
    rounds = {"adopted": 0, "unchanged": 0, "empty": 0, "copied_example": 0, "other": 0}
    for record in records:
        counts["records"] += 1
        final = record.messages[-1]["content"] if record.messages else ""
        changed = final.strip() != record.initial.strip()
        counts["revised" if changed else "unchanged"] += 1
        for note in record.metadata.get("rounds", []):
            try:
                key = RevisionStatus(note.get("revision")).counted_as
            except ValueError:  # no revision in that round (it failed), or an unknown status
                key = "other"
            rounds[key] += 1
    return {**counts, **{f"rounds_{key}": value for key, value in rounds.items()}}

"""What every judge mode is: :class:`JudgeMode`, and :class:`ComparisonMode` for the modes that
show both responses in presentation orders."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from rlaif.errors import ConfigError
from rlaif.judge.judgment import Judgment, Order, Vote, combine_votes, failed_call
from rlaif.models.types import Conversation
from rlaif.runs import CallFailure, attempt

if TYPE_CHECKING:
    from rlaif.constitution import Constitution, Principle
    from rlaif.models import Model

Shown = tuple[Conversation, str, str]
"""A pair as the judge reads it: the (possibly shortened) conversation and the two responses."""


@dataclass
class Plan:
    """What a pair is judged under: the pair as the judge reads it, the principles and the
    presentation orders (none in a mode without orders)."""

    shown: Shown
    principles: list[Principle]
    orders: list[Order]


@dataclass
class Ballot:
    """A pair's votes, and what they were cast under, to combine into one judgment."""

    pair_id: str
    principles: list[str]
    """The ids of the principles asked."""
    orders: list[Order]
    """The presentation orders asked (none in a mode without orders)."""
    votes: list[Vote]
    notes: list[str] = field(default_factory=list)
    """What the judgment should say about how it was made (shortened text, a fallback)."""


class Judging(Protocol):
    """What a mode reads from the judge it judges for (:class:`~rlaif.judge.PairwiseJudge`)."""

    model: Model
    constitution: Constitution
    both_orders: bool
    cot_band: tuple[float, float]
    max_verdict_tokens: int
    max_reasoning_tokens: int
    partial_ensembles: bool

    @property
    def name(self) -> str:
        """``provider/model`` of the judge."""

    @property
    def render(self) -> Callable[..., Conversation]:
        """``render(prompt, first, second, principle, mode)``: the messages of one comparison,
        ``first`` shown as A (:meth:`~rlaif.judge.PairwiseJudge.render`)."""

    @property
    def render_score(self) -> Callable[[Conversation, str, Principle], Conversation]:
        """``render_score(prompt, response, principle)``: the messages of one pointwise call."""


class JudgeMode(ABC):
    """How a judge judges a pair: the votes it asks for and how they combine."""

    name: ClassVar[str]
    """The mode's name, as ``--mode`` and config files give it and judgments record it."""
    soft: ClassVar[bool]
    """Verdicts are read from choice log-probabilities: the backend must return them, and a
    judge in ``auto`` whose backend turns out not to falls back to ``generate``."""
    ordered: ClassVar[bool] = True
    """The pair is shown in presentation orders, so position can bias the verdict."""
    stage: ClassVar[Literal["compare", "compare_cot"]] = "compare"
    """The stage whose principles are sampled for a pair (:meth:`Constitution.sample`)."""
    template: ClassVar[Literal["compare", "compare_cot", "score"]] = "compare"
    """The constitution's template a request renders; a constitution without it cannot judge
    in this mode."""

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<judge mode {self.name}>"

    def require(self, model: Model, constitution: Constitution) -> None:
        """Raise :class:`ConfigError` when ``model`` or ``constitution`` cannot judge in this
        mode: a soft mode needs choice log-probabilities, every mode its template."""
        if self.soft and not model.supports_choice_logprobs:
            raise ConfigError(
                f"judge {model.name} cannot score choices, so mode {self.name!r} is "
                "unavailable; use --mode generate or cot"
            )
        if getattr(constitution.templates, self.template) is None:
            raise ConfigError(
                f"constitution {constitution.name!r} has no {self.template!r} template, so "
                f"mode {self.name!r} is unavailable; add templates.{self.template} (see "
                "constitution/templates)"
            )

    def prefill(self, judge: Judging) -> str | None:
        """The answer opening sent as the start of the judge's turn (``None``: none)."""
        return None

    @abstractmethod
    async def votes(self, judge: Judging, plan: Plan) -> list[Vote]:
        """Every vote of one pair under the plan's principles (and orders, for an ordered
        mode); a failed call is a vote with an error, never a verdict."""

    @abstractmethod
    def combine(self, judge: Judging, ballot: Ballot) -> Judgment:
        """One judgment from a pair's votes."""

    @abstractmethod
    def sample_request(
        self, judge: Judging, prompt: Conversation, response: str, principle: Principle
    ) -> Conversation:
        """One request of this mode for ``prompt`` (both sides ``response``), as sent: what a
        ``--dry-run`` estimate counts tokens on."""

    def output_tokens(self, judge: Judging) -> int:
        """The most tokens one request of this mode generates."""
        return 1

    @abstractmethod
    def calls_per_pair(self, judge: Judging, principles: int) -> int:
        """The calls one pair costs when judged under ``principles`` principles (an upper
        bound where calls can be shared)."""


class ComparisonMode(JudgeMode):
    """A mode that shows both responses, one vote per principle and presentation order."""

    async def votes(self, judge: Judging, plan: Plan) -> list[Vote]:
        calls = [(p, o) for p in plan.principles for o in plan.orders]
        return list(await asyncio.gather(*(self._vote(judge, plan.shown, p, o) for p, o in calls)))

    def combine(self, judge: Judging, ballot: Ballot) -> Judgment:
        return combine_votes(
            ballot.pair_id,
            judge.name,
            self.name,
            ballot.principles,
            ballot.orders,
            ballot.votes,
            ballot.notes,
            partial=judge.partial_ensembles,
        )

    def prefill(self, judge: Judging) -> str | None:
        """The constitution's answer opening, where the backend can continue an assistant
        turn."""
        if not judge.model.supports_prefill:
            return None
        return judge.constitution.judge.prefill or None

    def sample_request(
        self, judge: Judging, prompt: Conversation, response: str, principle: Principle
    ) -> Conversation:
        return judge.render(prompt, response, response, principle, self)

    def calls_per_pair(self, judge: Judging, principles: int) -> int:
        """One call a principle and order (a ``cot`` judge that scores choices adds a scored
        call after each reasoning; not counted)."""
        return principles * (2 if judge.both_orders else 1)

    async def _vote(self, judge: Judging, shown: Shown, principle: Principle, order: Order) -> Vote:
        prompt, response_1, response_2 = shown
        first, second = (response_1, response_2) if order == "12" else (response_2, response_1)
        messages = judge.render(prompt, first, second, principle, self)
        vote = Vote(principle=principle.id, order=order)
        p_first = await attempt(self.verdict(judge, messages, vote, (first, second)))
        if isinstance(p_first, CallFailure):  # recorded, never turned into a verdict
            vote.error = failed_call(p_first)
        elif p_first is not None:
            vote.p_response_1 = p_first if order == "12" else 1.0 - p_first
        return vote

    @abstractmethod
    async def verdict(
        self, judge: Judging, messages: Conversation, vote: Vote, shown: tuple[str, str]
    ) -> float | None:
        """P(the response shown first is better) of one call on ``messages``, which show the
        responses ``shown`` (first, second) as the judge reads them; the call's usage and raw
        answer recorded on ``vote`` (``None`` with ``vote.error`` when the answer has no
        verdict)."""

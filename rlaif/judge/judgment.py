"""The :class:`Judgment` record: one pairwise verdict with everything needed to trace it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from rlaif.judge.verdict import SCORE_CHOICES, score_log_odds
from rlaif.models import Model
from rlaif.models.types import ChoiceScores, Completion, Conversation
from rlaif.runs import CallFailure, attempt

Order = Literal["12", "21"]
"""Presentation order: ``"12"`` shows response 1 as A, ``"21"`` shows response 2 as A."""

BACKEND_ERROR = "backend error: "
"""How a vote's ``error`` starts when the call failed (as opposed to an unreadable verdict)."""


class Vote(BaseModel):
    """One judge call: one principle, one presentation order."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    principle: str
    """Principle id the judge was asked about."""
    order: Order | None = None
    """Which response was shown first (``None`` for a pointwise score, which sees one)."""
    response: Literal["1", "2"] | None = None
    """The response a pointwise vote scored alone (``None`` for a comparison)."""
    score: float | None = None
    """Pointwise score: log-odds that the response keeps to the principle."""
    p_response_1: float | None = None
    """Probability that response 1 is better (mapped back from the shown order); ``None`` when
    the verdict is missing."""
    raw: str = ""
    """Raw judge output (generated text, or the choice log-probabilities as text)."""
    error: str | None = None
    """Why the verdict is missing: unparseable output, judge refusal, backend error."""
    input_tokens: int = 0
    """Prompt tokens of the call."""
    output_tokens: int = 0
    """Generated tokens of the call."""
    cost_usd: float | None = None
    """Price of the call, when priced."""
    latency_s: float = 0.0
    """Seconds the call took (0 for a cache hit)."""
    cached: bool = False
    """Whether the call was served from the response cache."""


class _VoteTotal:
    """A read-only attribute of :class:`Judgment`: the sum of one field over its votes."""

    def __init__(self, field: str, doc: str):
        self.field = field
        self.__doc__ = doc

    def __get__(self, judgment: Judgment | None, owner: type | None = None) -> Any:
        if judgment is None:
            return self
        return sum(getattr(vote, self.field) for vote in judgment.votes)


class Judgment(BaseModel):
    """A pairwise preference between response 1 and response 2 of one prompt.

    ``p_response_1`` averages the votes; it is ``None`` (missing) unless every planned vote has a
    verdict (or, when partial ensembles are allowed, unless every order has at least one, the
    gap then stated in ``notes``). A missing verdict is never turned into a side or a tie.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    pair_id: str
    """Id of the compared pair."""
    judge: str
    """``provider/model`` of the judge."""
    mode: str
    """How verdicts were obtained: the name of the judge's mode (a built-in one of
    :data:`rlaif.judge.modes.JUDGE_MODES`, or a user's)."""
    principles: list[str] = Field(default_factory=list)
    """Principle ids used (an ensemble when more than one)."""
    orders: list[Order] = Field(default_factory=list)
    """Presentation orders used: both by default, one when ``single_order`` was chosen, none for
    a pointwise judgment (each response is scored alone)."""
    p_response_1: float | None = None
    """Probability that response 1 is better, averaged over principles and orders."""
    p_by_order: dict[str, float | None] = Field(default_factory=dict)
    """Probability that response 1 is better per presentation order (averaged over principles)."""
    consistent: bool | None = None
    """Whether both orders preferred the same response (``None``: one order, a side missing, or
    an order at exactly 0.5, which prefers neither)."""
    votes: list[Vote] = Field(default_factory=list)
    """Every judge call behind this judgment."""
    error: str | None = None
    """Why ``p_response_1`` is missing, when it is."""
    notes: list[str] = Field(default_factory=list)
    """Anything that changed what the judge saw (e.g. a response shortened for length)."""
    p_harmful_request: float | None = None
    """The request check's probability that the request is harmful, the weight of the
    ``harmful``-side principles (``None``: the constitution has no request check, or it was not
    needed; see :mod:`rlaif.judge.request_check`)."""
    request_sides: dict[str, list[str]] = Field(default_factory=dict)
    """Under a request check, the principle ids asked for each side (``harmful``,
    ``harmless``); a side whose weight was too small to change the label is left out."""

    @property
    def missing(self) -> bool:
        """True when there is no usable verdict."""
        return self.p_response_1 is None

    @property
    def call_failed(self) -> bool:
        """True when a vote is missing because its call failed (worth retrying on the next run),
        not because the judge's answer could not be read."""
        return any((v.error or "").startswith(BACKEND_ERROR) for v in self.votes)

    input_tokens: ClassVar[_VoteTotal] = _VoteTotal("input_tokens", "Prompt tokens over all votes.")

    output_tokens: ClassVar[_VoteTotal] = _VoteTotal(
        "output_tokens", "Generated tokens over all votes."
    )

    @property
    def cost_usd(self) -> float | None:
        """Total price, or ``None`` when the judge is not priced."""
        costs = [v.cost_usd for v in self.votes if v.cost_usd is not None]
        return sum(costs) if costs else None

    latency_s: ClassVar[_VoteTotal] = _VoteTotal("latency_s", "Seconds spent in judge calls.")

    cache_hits: ClassVar[_VoteTotal] = _VoteTotal("cached", "Votes served from the response cache.")


def sigmoid(x: float) -> float:
    """``1 / (1 + exp(-x))``, without overflow for large negative ``x``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def pointwise_p(votes: Sequence[Vote]) -> float | None:
    """One principle's pointwise probability that response 1 is better, ``sigmoid(s1 - s2)``
    of its two responses' scores (``None`` when either score is missing)."""
    scores = {v.response: v.score for v in votes}
    s1, s2 = scores.get("1"), scores.get("2")
    if s1 is None or s2 is None:
        return None
    return sigmoid(s1 - s2)


def orders_agree(present: Sequence[float]) -> bool | None:
    """Whether both presentation orders prefer the same response (``None`` unless there are two
    orders, and when one is exactly 0.5, which prefers neither)."""
    if len(present) != 2 or 0.5 in present:
        return None
    return (present[0] > 0.5) == (present[1] > 0.5)


def failed_call(failure: CallFailure) -> str:
    """A vote's ``error`` for a call that failed (:data:`BACKEND_ERROR` and the failure)."""
    return f"{BACKEND_ERROR}{failure}"


async def yes_no_vote(model: Model, messages: Conversation, principle: str = "") -> Vote:
    """One Yes/No call read from choice log-probabilities (the choices carry a leading space
    when the judge's turn is prefilled): the vote's ``score`` is ``log P(Yes) - log P(No)``, or
    ``None`` with ``error`` saying why (a failed call, or unusable probabilities; never
    guessed). Refused credentials raise: they stop the whole run."""
    vote = Vote(principle=principle)
    prefilled = messages[-1]["role"] == "assistant"
    choices = SCORE_CHOICES if prefilled else tuple(c.strip() for c in SCORE_CHOICES)
    scores = await attempt(model.score_choices(messages, list(choices)))
    if isinstance(scores, CallFailure):  # recorded, never turned into a score
        vote.error = failed_call(scores)
        return vote
    account_call(vote, scores, first=True)
    vote.raw = json.dumps(scores.logprobs)
    vote.score = score_log_odds(scores.logprobs, *choices)
    if vote.score is None:
        vote.error = f"judge gave no usable probabilities for Yes/No: {vote.raw}"
    return vote


def account_call(vote: Vote, result: Completion | ChoiceScores, *, first: bool) -> None:
    """Add one call's tokens, cost and latency to ``vote``; the vote counts as cached only when
    every call behind it was (``first``: the vote's first call)."""
    vote.input_tokens += result.input_tokens
    vote.output_tokens += result.output_tokens
    if result.cost_usd is not None:
        vote.cost_usd = (vote.cost_usd or 0.0) + result.cost_usd
    vote.cached = result.cached if first else vote.cached and result.cached
    vote.latency_s += result.latency_s


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def combine_votes(
    pair_id: str,
    judge: str,
    mode: str,
    principles: list[str],
    orders: list[Order],
    votes: list[Vote],
    notes: list[str],
    *,
    partial: bool = False,
) -> Judgment:
    """A comparison judgment from its votes: per order the mean over principles, overall the
    mean over orders. Missing unless every planned vote has a verdict: a failed call is never
    averaged away. With ``partial``, an order needs one verdict, and the gap is noted."""
    p_by_order: dict[str, float | None] = {}
    errors: list[str] = []
    gaps: list[str] = []
    for order in orders:
        mine = [v for v in votes if v.order == order]
        answered = [v.p_response_1 for v in mine if v.p_response_1 is not None]
        unanswered = sorted({v.error or "no verdict" for v in mine if v.p_response_1 is None})
        if unanswered and not (partial and answered):
            p_by_order[order] = None
            missing = len(mine) - len(answered)
            errors.append(
                f"order {order}: {missing} of {len(mine)} votes missing: {'; '.join(unanswered)}"
            )
            continue
        p_by_order[order] = _mean(answered)
        if unanswered:
            gaps.append(f"order {order}: {'; '.join(unanswered)}")
    present = [p for p in p_by_order.values() if p is not None]
    complete = len(present) == len(orders)
    if complete and gaps:
        answered_votes = sum(v.p_response_1 is not None for v in votes)
        notes = [*notes, _partial_note(answered_votes, len(votes), "votes", gaps)]
    # An order at exactly 0.5 takes no side, so agreement is undefined (None), not False.
    consistent = orders_agree(present) if complete else None
    return Judgment(
        pair_id=pair_id,
        judge=judge,
        mode=mode,
        principles=principles,
        orders=orders,
        p_response_1=_mean(present) if complete else None,
        p_by_order=p_by_order,
        consistent=consistent,
        votes=votes,
        error=None if complete else " | ".join(errors),
        notes=notes,
    )


def combine_scores(
    pair_id: str,
    judge: str,
    principles: list[str],
    votes: list[Vote],
    notes: list[str],
    *,
    partial: bool = False,
) -> Judgment:
    """A pointwise judgment: per principle ``p = sigmoid(s1 - s2)`` of the two responses'
    scores, averaged over principles; missing unless every score is there (with ``partial``,
    unless one principle has both, the others then named in ``notes``)."""
    p_values: list[float] = []
    errors: set[str] = set()
    for principle in principles:
        mine = [v for v in votes if v.principle == principle]
        p = pointwise_p(mine)
        if p is None:
            errors |= {f"response {v.response}: {v.error}" for v in mine if v.score is None}
            continue
        p_values.append(p)
    complete = not errors or (partial and bool(p_values))
    if errors and complete:
        notes = [*notes, _partial_note(len(p_values), len(principles), "principles", errors)]
    return Judgment(
        pair_id=pair_id,
        judge=judge,
        mode="pointwise",
        principles=principles,
        orders=[],
        p_response_1=_mean(p_values) if complete else None,
        votes=votes,
        error=None if complete else " | ".join(sorted(errors)),
        notes=notes,
    )


PARTIAL_NOTE = "partial ensemble: "
"""How the note of a judgment made from an incomplete ensemble starts."""


def _partial_note(used: int, planned: int, what: str, gaps: Iterable[str]) -> str:
    return f"{PARTIAL_NOTE}{used} of {planned} {what} answered ({'; '.join(sorted(gaps))})"

"""The :class:`Judgment` record: one pairwise verdict with everything needed to trace it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Order = Literal["12", "21"]
"""Presentation order: ``"12"`` shows response 1 as A, ``"21"`` shows response 2 as A."""


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
    """Pointwise score: log-odds that the response does not go against the principle."""
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


class Judgment(BaseModel):
    """A pairwise preference between response 1 and response 2 of one prompt.

    ``p_response_1`` averages every vote that has a verdict; it is ``None`` (missing) when no vote
    does. A missing verdict is never turned into a side or a tie.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    pair_id: str
    """Id of the compared pair."""
    judge: str
    """``provider/model`` of the judge."""
    mode: Literal["logprob", "generate", "cot", "pointwise"]
    """How verdicts were obtained."""
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

    @property
    def missing(self) -> bool:
        """True when there is no usable verdict."""
        return self.p_response_1 is None

    @property
    def input_tokens(self) -> int:
        """Prompt tokens over all votes."""
        return sum(v.input_tokens for v in self.votes)

    @property
    def output_tokens(self) -> int:
        """Generated tokens over all votes."""
        return sum(v.output_tokens for v in self.votes)

    @property
    def cost_usd(self) -> float | None:
        """Total price, or ``None`` when the judge is not priced."""
        costs = [v.cost_usd for v in self.votes if v.cost_usd is not None]
        return sum(costs) if costs else None

    @property
    def latency_s(self) -> float:
        """Seconds spent in judge calls."""
        return sum(v.latency_s for v in self.votes)

    @property
    def cache_hits(self) -> int:
        """Votes served from the response cache."""
        return sum(v.cached for v in self.votes)

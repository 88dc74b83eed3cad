"""Aligned arrays for agreement metrics: the pairs as shown to a judge, and one judge's (or
baseline's) soft verdicts on them.

The human-preferred reply is shown as response 1 on a seeded random half of the pairs, so that
"always pick response 1" scores chance and position bias shows up as a measurable rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rlaif.eval.loaders import LabelledPair
from rlaif.judge.judgment import Judgment

ORDERS = ("12", "21")


@dataclass(frozen=True)
class ShownPair:
    """A labelled pair with its responses assigned to positions 1 and 2."""

    pair: LabelledPair
    chosen_is_1: bool

    @property
    def response_1(self) -> str:
        """The reply shown as response 1."""
        return self.pair.chosen if self.chosen_is_1 else self.pair.rejected

    @property
    def response_2(self) -> str:
        """The reply shown as response 2."""
        return self.pair.rejected if self.chosen_is_1 else self.pair.chosen


def assign_positions(pairs: Sequence[LabelledPair], seed: int) -> list[ShownPair]:
    """Put the human-preferred reply first on a seeded random half of the pairs.

    Exactly ``len(pairs) // 2`` (or that plus one) pairs get it first, so position-blind rules
    score close to 0.5 even on small samples."""
    n = len(pairs)
    first = np.zeros(n, dtype=bool)
    first[np.random.default_rng(seed).permutation(n)[: (n + 1) // 2]] = True
    return [ShownPair(pair, bool(flag)) for pair, flag in zip(pairs, first, strict=True)]


@dataclass
class PairFrame:
    """Per-pair arrays describing what was shown and what humans preferred."""

    ids: list[str]
    chosen_is_1: np.ndarray
    """True where the human-preferred reply is response 1."""
    len_1: np.ndarray
    """Characters in response 1."""
    len_2: np.ndarray
    """Characters in response 2."""
    subsets: np.ndarray
    """Subset / category of each pair (``""`` when none)."""

    @classmethod
    def from_shown(cls, shown: Sequence[ShownPair]) -> PairFrame:
        """Arrays for pairs as assigned by :func:`assign_positions`."""
        return cls(
            ids=[s.pair.id for s in shown],
            chosen_is_1=np.array([s.chosen_is_1 for s in shown], dtype=bool),
            len_1=np.array([len(s.response_1) for s in shown], dtype=float),
            len_2=np.array([len(s.response_2) for s in shown], dtype=float),
            subsets=np.array([s.pair.subset for s in shown], dtype=object),
        )

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Predictions:
    """Soft verdicts of one judge or baseline on the pairs of a :class:`PairFrame`.

    Probabilities are "response 1 is better"; NaN marks a missing verdict."""

    name: str
    p_response_1: np.ndarray
    p_by_order: dict[str, np.ndarray] = field(default_factory=dict)
    """Per presentation order (``"12"``: response 1 shown first); one key for single-order."""
    kind: str = "judge"
    """``judge`` or ``baseline``."""
    mode: str = ""
    """Judge mode (``logprob``, ``generate``, ``cot``) or the baseline's rule."""
    errors: list[str | None] = field(default_factory=list)
    """Why each missing verdict is missing."""
    wall_seconds: float | None = None
    """Wall-clock seconds the judge took on these pairs (this run's calls only)."""
    call_seconds: float | None = None
    """Latency of every model call summed (concurrent calls overlap, so this can exceed the
    wall clock; cache hits count 0)."""
    cost_usd: float | None = None
    """Dollars spent, when the model is priced."""
    input_tokens: int = 0
    """Prompt tokens over all calls."""
    output_tokens: int = 0
    """Generated tokens over all calls."""
    calls: int = 0
    """Model calls (votes) made."""
    cache_hits: int = 0
    """Calls served from the response cache."""


def _prob(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def predictions_from_judgments(
    name: str,
    judgments: Sequence[Judgment],
    ids: Sequence[str],
    *,
    mode: str = "",
    wall_seconds: float | None = None,
) -> Predictions:
    """Align judgments with the frame's pair ids (a pair without a judgment is missing)."""
    by_id = {j.pair_id: j for j in judgments}
    rows = [by_id.get(pair_id) for pair_id in ids]
    p_response_1 = np.array([_prob(j.p_response_1) if j else np.nan for j in rows])
    orders = sorted({o for j in rows if j for o in j.p_by_order}, key=ORDERS.index)
    p_by_order = {
        order: np.array([_prob(j.p_by_order.get(order)) if j else np.nan for j in rows])
        for order in orders
    }
    errors = [
        (j.error if j else "no judgment") if (j is None or j.p_response_1 is None) else None
        for j in rows
    ]
    present = [j for j in rows if j is not None]
    costs = [j.cost_usd for j in present if j.cost_usd is not None]
    return Predictions(
        name=name,
        p_response_1=p_response_1,
        p_by_order=p_by_order,
        kind="judge",
        mode=mode or (present[0].mode if present else ""),
        errors=errors,
        wall_seconds=wall_seconds,
        call_seconds=sum(j.latency_s for j in present),
        cost_usd=sum(costs) if costs else None,
        input_tokens=sum(j.input_tokens for j in present),
        output_tokens=sum(j.output_tokens for j in present),
        calls=sum(len(j.votes) for j in present),
        cache_hits=sum(j.cache_hits for j in present),
    )

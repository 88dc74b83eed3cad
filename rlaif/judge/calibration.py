"""Position-bias correction beyond averaging: the judge's prior for the first-shown response,
estimated without labels and removed from each vote in logit space (contextual calibration).

A comparison judge answers ``logit P(first shown is better) = s + b``, where ``s`` is what it read
in the responses and ``b`` its preference for a position. Averaging the two orders cancels ``b`` in
the mean, but each order alone stays shifted: a judge whose votes are 0.57 and 0.57 for "A"
whatever it reads looks inconsistent, and one that reads a little (0.62 vs 0.52) still lands
near 0.5. Over many pairs judged in both orders the mean of the first-shown logits is ``b``
(each pair contributes ``s + b`` and ``-s + b``), so ``b`` can be estimated from the swapped
orders alone, with no label. :func:`calibrate_judgment` then subtracts it from every vote.

Soft verdicts only: ``generate`` and ``cot`` votes of exactly 0 or 1 carry no logit to shift
and are left as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rlaif.judge.judgment import PARTIAL_NOTE, Judgment, Vote, combine_votes, sigmoid
from rlaif.judge.modes import position_free

_EDGE = 1e-6
"""Probabilities are kept within [1e-6, 1 - 1e-6] before taking logits."""


def _logit(p: float) -> float:
    p = min(max(p, _EDGE), 1.0 - _EDGE)
    return math.log(p / (1.0 - p))


def _soft(vote: Vote) -> bool:
    return vote.p_response_1 is not None and 0.0 < vote.p_response_1 < 1.0


def first_shown_probability(vote: Vote) -> float | None:
    """P(the response shown first is better) of one comparison vote."""
    if vote.p_response_1 is None or vote.order is None:
        return None
    return vote.p_response_1 if vote.order == "12" else 1.0 - vote.p_response_1


def estimate_position_prior(judgments: Iterable[Judgment]) -> float | None:
    """The judge's prior logit for the first-shown response: the mean first-shown logit over
    every soft vote of the judgments judged in both orders (``None`` when there is none)."""
    logits: list[float] = []
    for judgment in judgments:
        if sorted(judgment.orders) != ["12", "21"]:
            continue
        for vote in judgment.votes:
            p_first = first_shown_probability(vote)
            if p_first is not None and _soft(vote):
                logits.append(_logit(p_first))
    return sum(logits) / len(logits) if logits else None


def calibrate_vote(vote: Vote, prior_logit: float) -> Vote:
    """``vote`` with ``prior_logit`` removed from its first-shown logit (soft votes only)."""
    p_first = first_shown_probability(vote)
    if p_first is None or not _soft(vote):
        return vote
    corrected = sigmoid(_logit(p_first) - prior_logit)
    p_1 = corrected if vote.order == "12" else 1.0 - corrected
    return vote.model_copy(update={"p_response_1": p_1})


def calibrate_judgment(judgment: Judgment, prior_logit: float) -> Judgment:
    """``judgment`` recombined from calibrated votes, with a note giving the prior removed.
    Pointwise judgments have no position and are returned unchanged."""
    if position_free(judgment.mode) or not judgment.orders:
        return judgment
    votes = [calibrate_vote(v, prior_logit) for v in judgment.votes]
    note = f"position prior removed: {prior_logit:+.3f} logits toward the first-shown response"
    notes = [n for n in judgment.notes if not n.startswith(PARTIAL_NOTE)]
    return combine_votes(
        judgment.pair_id,
        judgment.judge,
        judgment.mode,
        judgment.principles,
        judgment.orders,
        votes,
        [*notes, note],
        partial=not judgment.missing,  # a judgment made from a partial ensemble stays one
    )

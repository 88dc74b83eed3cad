"""Pairwise accuracy, defined once: of judges and of reward models, in ``rlaif train rm`` and in
``rlaif eval`` alike (ties count half)."""

from __future__ import annotations

from typing import Any

import numpy as np

TIE_TOLERANCE = 1e-9
"""Probabilities this close to 0.5 are a tie (averaging two orders can leave rounding noise)."""


def pairwise_correctness(p_response_1: Any, chosen_is_1: Any) -> np.ndarray:
    """Per pair, how right a preference is: 1 when it favours the chosen reply, **0.5 for a tie**
    (the expected score of breaking it with a coin), 0 when it favours the rejected reply, NaN
    when missing.

    ``p_response_1`` is the probability that response 1 is better (for a reward model the
    Bradley–Terry ``sigmoid(score_1 - score_2)``), ``chosen_is_1`` whether response 1 is the
    preferred one. A tie is ``|p - 0.5| <= TIE_TOLERANCE``. Pairwise accuracy — of judges and of
    reward models, in ``train rm`` and in ``eval`` alike — is the mean of this over answered
    pairs: ties count half."""
    p = np.asarray(p_response_1, dtype=float)
    chosen_first = np.broadcast_to(np.asarray(chosen_is_1, dtype=bool), p.shape)
    favours_1 = p > 0.5 + TIE_TOLERANCE
    favours_2 = p < 0.5 - TIE_TOLERANCE
    score = np.where(chosen_first, favours_1, favours_2).astype(float)
    score[np.abs(p - 0.5) <= TIE_TOLERANCE] = 0.5
    score[np.isnan(p)] = np.nan
    return score


def reward_pair_correctness(chosen_scores: Any, rejected_scores: Any) -> np.ndarray:
    """:func:`pairwise_correctness` of reward scores: ``sigmoid(chosen - rejected)`` as the
    probability the chosen reply is better (ties count half)."""
    from scipy.special import expit

    gaps = np.asarray(chosen_scores, dtype=float) - np.asarray(rejected_scores, dtype=float)
    return pairwise_correctness(expit(gaps), True)

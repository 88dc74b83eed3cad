"""The one pairwise-accuracy definition: a tie counts half, for judges and reward models alike."""

from __future__ import annotations

import numpy as np
import pytest

from rlaif.data.accuracy import pairwise_correctness, reward_pair_correctness
from rlaif.eval.agreement.measures import correctness


def test_ties_count_half_and_missing_stays_missing() -> None:
    p = np.array([0.9, 0.5, 0.2, np.nan, 0.5 + 1e-12])
    chosen_is_1 = np.array([True, True, True, False, False])
    score = pairwise_correctness(p, chosen_is_1)
    assert score[:3].tolist() == [1.0, 0.5, 0.0] and np.isnan(score[3]) and score[4] == 0.5
    assert np.array_equal(correctness(p, chosen_is_1), score, equal_nan=True)


def test_reward_scores_use_the_same_definition() -> None:
    chosen = np.array([2.0, 1.0, 0.0, 3.0])
    rejected = np.array([1.0, 1.0, 0.5, 3.0])
    assert reward_pair_correctness(chosen, rejected).tolist() == [1.0, 0.5, 0.0, 0.5]
    assert reward_pair_correctness(chosen, rejected).mean() == pytest.approx(0.5)

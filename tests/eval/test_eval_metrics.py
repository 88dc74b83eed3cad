"""Each agreement metric against values worked out by hand on small fixtures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from rlaif.eval.agreement import measures as m

NAN = float("nan")


def test_verdicts_ties_and_missing() -> None:
    v = m.verdicts(np.array([0.9, 0.1, 0.5, NAN, 0.5 + 1e-12, 0.51]))
    assert v[:3].tolist() == [1.0, 2.0, 0.0]
    assert np.isnan(v[3])
    assert v[4] == 0.0  # rounding noise around 0.5 is a tie
    assert v[5] == 1.0


def test_correctness_counts_a_tie_as_half() -> None:
    p = np.array([0.8, 0.3, 0.5, NAN, 0.2])
    chosen_is_1 = np.array([True, True, False, True, False])
    score = m.correctness(p, chosen_is_1)
    assert score[:3].tolist() == [1.0, 0.0, 0.5]
    assert np.isnan(score[3])
    assert score[4] == 1.0  # humans chose response 2 and the judge said 2


def test_kappa_by_hand() -> None:
    # human:  1 1 1 1 2 2 2 2 ; judge: 1 1 1 2 2 2 1 1
    human = np.array([1, 1, 1, 1, 2, 2, 2, 2], dtype=float)
    judge = np.array([1, 1, 1, 2, 2, 2, 1, 1], dtype=float)
    # observed agreement 5/8; expected = (4/8 * 5/8) + (4/8 * 3/8) = 0.5
    expected = (5 / 8 - 0.5) / (1 - 0.5)
    assert m.kappa(human, judge) == pytest.approx(expected)
    assert expected == pytest.approx(0.25)


def test_kappa_counts_ties_as_their_own_label() -> None:
    human = np.array([1, 2, 1, 2], dtype=float)
    judge = np.array([1, 2, 0, 0], dtype=float)
    # observed 2/4; expected: label 1: 2/4*1/4, label 2: 2/4*1/4, tie: 0 → 0.25
    assert m.kappa(human, judge) == pytest.approx((0.5 - 0.25) / 0.75)


def test_vectorised_kappa_equals_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        human = rng.choice([1.0, 2.0], size=40)
        judge = rng.choice([1.0, 2.0, 0.0], size=40)
        cells = m.kappa_cells(human, judge)
        assert m.kappa_from_cells(cells) == pytest.approx(cohen_kappa_score(human, judge))
    batch = np.stack([cells, cells[::-1]])
    assert m.kappa_from_cells(batch, axis=-1).shape == (2,)


def test_consistency_needs_both_orders() -> None:
    c = m.consistency(np.array([0.9, 0.9, 0.5, NAN]), np.array([0.7, 0.2, 0.5, 0.8]))
    assert c[:3].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(c[3])


def test_first_position_counts_follow_the_shown_order() -> None:
    # pair 0: order 12 picks response 1 (shown first), order 21 picks response 1 (shown second)
    # pair 1: both orders pick the first shown (1 in "12", 2 in "21") → position bias
    # pair 2: tie in one order, missing in the other → nothing decided
    p12 = np.array([0.9, 0.8, 0.5])
    p21 = np.array([0.9, 0.3, NAN])
    picked, decided = m.first_position_counts({"12": p12, "21": p21})
    assert picked.tolist() == [1.0, 2.0, 0.0]
    assert decided.tolist() == [2.0, 2.0, 0.0]


def test_prefers_longer_ignores_equal_lengths_ties_and_missing() -> None:
    p = np.array([0.9, 0.9, 0.1, 0.5, NAN, 0.9])
    len_1 = np.array([10, 5, 10, 10, 10, 7])
    len_2 = np.array([5, 10, 5, 5, 5, 7])
    out = m.prefers_longer(p, len_1, len_2)
    assert out[:3].tolist() == [1.0, 0.0, 0.0]
    assert np.isnan(out[3:]).all()


def test_calibration_brier_and_ece_by_hand() -> None:
    # Humans chose response 1 everywhere; the judge says 0.8, 0.8, 0.8, 0.4.
    p = np.array([0.8, 0.8, 0.8, 0.4])
    chosen_is_1 = np.ones(4, dtype=bool)
    result = m.calibration(p, chosen_is_1, n_bins=5)
    # Brier over symmetrised samples = mean over pairs of (1 - p_chosen)^2
    assert result["brier"] == pytest.approx((3 * 0.2**2 + 0.6**2) / 4)
    # Symmetrised samples: 0.8 (y=1) x3, 0.2 (y=0) x3, 0.4 (y=1), 0.6 (y=0); 5 bins of 0.2.
    # Bin [0.0,0.2]: three 0.2s, y=0 → gap 0.2; bin (0.2,0.4]: 0.4 y=1 → gap 0.6;
    # bin (0.4,0.6]: 0.6 y=0 → gap 0.6; bin (0.6,0.8]: three 0.8s, y=1 → gap 0.2.
    expected_ece = (3 * 0.2 + 0.6 + 0.6 + 3 * 0.2) / 8
    assert result["ece"] == pytest.approx(expected_ece)
    counts = {round(b["low"], 1): b["count"] for b in result["bins"]}
    assert counts == {0.0: 3, 0.2: 1, 0.4: 1, 0.6: 3}
    assert result["n"] == 4


def test_calibration_of_a_perfectly_calibrated_judge_is_zero() -> None:
    # p = 0.75 on 4 pairs, humans agree on 3 of them → 0.75 observed in each bin.
    p = np.full(4, 0.75)
    chosen_is_1 = np.array([True, True, True, False])
    result = m.calibration(p, chosen_is_1, n_bins=4)
    assert result["ece"] == pytest.approx(0.0)


def test_confusion_counts_by_position() -> None:
    p = np.array([0.9, 0.1, 0.5, NAN, 0.2])
    chosen_is_1 = np.array([True, True, False, False, False])
    table = m.confusion(p, chosen_is_1)
    assert table["rows"]["human: response 1"] == [1, 0, 1, 0]
    assert table["rows"]["human: response 2"] == [0, 1, 1, 1]


def test_human_prefers_longer_masks() -> None:
    longer, shorter = m.human_prefers_longer(
        np.array([True, False, True]), np.array([10, 10, 5]), np.array([5, 5, 5])
    )
    assert longer.tolist() == [True, False, False]
    assert shorter.tolist() == [False, True, False]

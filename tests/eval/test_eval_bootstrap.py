"""Bootstrap intervals: exact small cases, seeding, and agreement with the normal approximation."""

from __future__ import annotations

import numpy as np
import pytest

from rlaif.eval.bootstrap import Estimate, mean_estimate, ratio_estimate, statistic_estimate


def test_two_point_sample_spans_the_whole_range() -> None:
    # Resampling [0, 1] gives means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5% and
    # 97.5% percentiles are 0 and 1.
    estimate = mean_estimate([0.0, 1.0], seed=0, n_resamples=4000)
    assert estimate.value == 0.5
    assert (estimate.low, estimate.high) == (0.0, 1.0)


def test_constant_sample_has_a_zero_width_interval() -> None:
    estimate = mean_estimate([1.0] * 30, seed=0, n_resamples=500)
    assert (estimate.value, estimate.low, estimate.high) == (1.0, 1.0, 1.0)


def test_same_seed_same_interval_other_seed_differs() -> None:
    values = np.random.default_rng(0).integers(0, 2, 200).astype(float)
    a = mean_estimate(values, seed=5, n_resamples=1000)
    b = mean_estimate(values, seed=5, n_resamples=1000)
    c = mean_estimate(values, seed=6, n_resamples=1000)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)


def test_interval_matches_the_normal_approximation_for_a_proportion() -> None:
    values = np.array([1.0] * 240 + [0.0] * 160)  # p = 0.6, n = 400
    estimate = mean_estimate(values, seed=1, n_resamples=4000)
    half_width = 1.96 * np.sqrt(0.6 * 0.4 / 400)  # ≈ 0.048
    assert estimate.value == pytest.approx(0.6)
    assert estimate.low == pytest.approx(0.6 - half_width, abs=0.01)
    assert estimate.high == pytest.approx(0.6 + half_width, abs=0.01)


def test_nan_marks_not_applicable_observations() -> None:
    estimate = mean_estimate([1.0, np.nan, 0.0, 1.0], n_resamples=200)
    assert estimate.n == 3
    assert estimate.value == pytest.approx(2 / 3)
    assert mean_estimate([np.nan], n_resamples=200) == Estimate(value=None, n=0)


def test_ratio_estimate_sums_before_dividing() -> None:
    # 3 of 4 events in pair 0, 0 of 1 in pair 1, none in pair 2 → 3/5 over 2 pairs
    estimate = ratio_estimate([3, 0, 0], [4, 1, 0], n_resamples=200)
    assert estimate.value == pytest.approx(0.6)
    assert estimate.n == 2


def test_statistic_estimate_for_a_non_vectorised_statistic() -> None:
    x = np.arange(50, dtype=float)
    estimate = statistic_estimate(
        [x, 2 * x], lambda a, b: float(np.corrcoef(a, b)[0, 1]), n_resamples=100
    )
    assert estimate.value == pytest.approx(1.0)
    assert estimate.low == pytest.approx(1.0)


def test_format_and_excludes() -> None:
    estimate = Estimate(value=0.55, low=0.51, high=0.59, n=100)
    assert estimate.format(percent=True) == "55.0% [51.0%, 59.0%]"
    assert estimate.excludes(0.5) and not estimate.excludes(0.55)
    assert Estimate(value=None).format() == "n/a"

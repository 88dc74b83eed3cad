"""Point estimates with seeded 95% bootstrap intervals (``scipy.stats.bootstrap``).

Every rate in a report is an :class:`~rlaif.data.estimate.Estimate`: the value on the pairs at
hand, the percentile interval from resampling pairs with replacement, and how many pairs it rests
on. Resampling is over pairs (the unit that was sampled), also for statistics built from several
arrays (paired).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rlaif.data.estimate import Estimate

DEFAULT_RESAMPLES = 2000
"""Bootstrap resamples per interval (enough for stable 2.5/97.5 percentiles)."""


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def bootstrap_interval(
    data: Sequence[np.ndarray],
    statistic: Callable[..., Any],
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    vectorized: bool = True,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of ``statistic`` over paired arrays (resampled together).

    ``statistic(*arrays, axis=-1)`` when ``vectorized``, else ``statistic(*arrays)``."""
    n = len(data[0])
    if n < 2:
        return None, None
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")  # degenerate resamples (all one value) are expected
        from scipy import stats  # heavy: loaded only when an interval is computed

        result = stats.bootstrap(
            tuple(data),
            statistic,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="percentile",
            paired=True,
            vectorized=vectorized,
            rng=np.random.default_rng(seed),
        )
    return _finite(result.confidence_interval.low), _finite(result.confidence_interval.high)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(numerator, axis=axis) / np.sum(denominator, axis=axis)


def mean_estimate(
    values: Sequence[float] | np.ndarray, *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES
) -> Estimate:
    """Mean of ``values`` ignoring NaN (not-applicable pairs), with its interval."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return Estimate(value=None, n=0)
    low, high = bootstrap_interval((array,), np.mean, seed=seed, n_resamples=n_resamples)
    return Estimate(value=float(array.mean()), low=low, high=high, n=int(array.size))


def ratio_estimate(
    numerator: Sequence[float] | np.ndarray,
    denominator: Sequence[float] | np.ndarray,
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> Estimate:
    """``sum(numerator) / sum(denominator)`` over pairs, for rates counted over a varying number
    of events per pair (e.g. verdicts per presentation order); pairs are resampled."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    keep = den > 0
    num, den = num[keep], den[keep]
    if den.size == 0:
        return Estimate(value=None, n=0)
    low, high = bootstrap_interval((num, den), _ratio, seed=seed, n_resamples=n_resamples)
    return Estimate(value=float(num.sum() / den.sum()), low=low, high=high, n=int(den.size))


def statistic_estimate(
    arrays: Sequence[np.ndarray],
    statistic: Callable[..., float],
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> Estimate:
    """Any statistic of paired arrays (called once per resample; for statistics such as
    Cohen's kappa that have no vectorised form)."""
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if n == 0:
        return Estimate(value=None, n=0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        value = _finite(float(statistic(*arrays)))
    low, high = bootstrap_interval(
        arrays, statistic, seed=seed, n_resamples=n_resamples, vectorized=False
    )
    return Estimate(value=value, low=low, high=high, n=n)

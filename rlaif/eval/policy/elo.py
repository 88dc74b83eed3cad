"""Elo ratings from pairwise judge verdicts: a Bradley–Terry fit (scikit-learn logistic
regression, as Chatbot Arena computes its leaderboard) with bootstrap intervals over prompts.

Each comparison ``(a, b, p)`` says model ``a`` beat model ``b`` with probability ``p`` (the judge's
soft label); it enters the fit as a win with weight ``p`` and a loss with weight ``1 - p``.
Ratings are on the Elo scale (400 points = 10:1 odds) with the anchor model at 1000.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ELO_SCALE = 400.0 / math.log(10.0)
ANCHOR_RATING = 1000.0
REGULARISATION_C = 10.0
"""Inverse L2 strength of the fit: mild, so ratings stay finite when one model wins every
comparison (then the gap is large but bounded)."""


@dataclass(frozen=True)
class Comparison:
    """Model ``a`` against model ``b`` on one prompt: ``p`` = probability ``a`` is better."""

    a: str
    b: str
    p: float
    prompt_id: str = ""


def fit_ratings(
    comparisons: Sequence[Comparison], models: Sequence[str], anchor: str | None = None
) -> dict[str, float]:
    """Bradley–Terry ratings on the Elo scale, ``anchor`` (default: the first model) at 1000."""
    index = {name: i for i, name in enumerate(models)}
    usable = [c for c in comparisons if not math.isnan(c.p)]
    if not usable:
        return {name: ANCHOR_RATING for name in models}
    design = np.zeros((2 * len(usable), len(models)))
    target = np.zeros(2 * len(usable))
    weight = np.zeros(2 * len(usable))
    for row, comparison in enumerate(usable):
        for offset, (label, w) in enumerate(((1.0, comparison.p), (0.0, 1.0 - comparison.p))):
            design[2 * row + offset, index[comparison.a]] = 1.0
            design[2 * row + offset, index[comparison.b]] = -1.0
            target[2 * row + offset] = label
            weight[2 * row + offset] = w
    from sklearn.linear_model import LogisticRegression  # heavy: loaded only to fit ratings

    fit = LogisticRegression(fit_intercept=False, C=REGULARISATION_C, max_iter=1000)
    fit.fit(design, target, sample_weight=weight + 1e-12)
    strengths = fit.coef_[0] * ELO_SCALE
    base = strengths[index[anchor or models[0]]]
    return {name: float(ANCHOR_RATING + strengths[i] - base) for name, i in index.items()}


def elo_table(
    comparisons: Sequence[Comparison],
    models: Sequence[str],
    *,
    anchor: str | None = None,
    seed: int = 0,
    n_resamples: int = 200,
) -> list[dict[str, float | str | None]]:
    """Ratings with 95% percentile intervals from resampling prompts, best first."""
    ratings = fit_ratings(comparisons, models, anchor)
    prompts = sorted({c.prompt_id for c in comparisons})
    by_prompt: dict[str, list[Comparison]] = {p: [] for p in prompts}
    for comparison in comparisons:
        by_prompt[comparison.prompt_id].append(comparison)
    rng = np.random.default_rng(seed)
    samples = {name: [] for name in models}  # type: dict[str, list[float]]
    if len(prompts) >= 2:
        for _ in range(n_resamples):
            drawn = rng.integers(0, len(prompts), size=len(prompts))
            resampled = [c for i in drawn for c in by_prompt[prompts[i]]]
            for name, value in fit_ratings(resampled, models, anchor).items():
                samples[name].append(value)
    table: list[dict[str, float | str | None]] = []
    for name in models:
        low = high = None
        if samples[name]:
            low, high = (float(x) for x in np.percentile(samples[name], [2.5, 97.5]))
        table.append({"model": name, "elo": ratings[name], "low": low, "high": high})
    table.sort(key=lambda row: -float(row["elo"] or 0.0))
    return table

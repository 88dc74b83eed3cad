"""Judge–human agreement metrics on plain arrays.

Conventions (documented in docs/evaluation.md):

- A verdict is read from ``p`` = probability that response 1 is better: response 1 when
  ``p > 0.5``, response 2 when ``p < 0.5``, a tie when ``p == 0.5``, missing when NaN.
- Accuracy counts a tie as half right (the expected score of breaking it by a coin) and is taken
  over answered pairs; ``accuracy_missing_as_chance`` also scores missing verdicts 0.5. The
  definition is :func:`rlaif.data.accuracy.pairwise_correctness`, which ``train rm`` uses
  too.
- Cohen's kappa treats a tie as its own label (``sklearn.metrics.cohen_kappa_score``).
- Calibration is measured on the probability given to the human-preferred reply, symmetrised
  (each pair contributes ``(p_chosen, 1)`` and ``(1 - p_chosen, 0)``), so the reliability diagram
  does not depend on which reply was shown first.
"""

from __future__ import annotations

import numpy as np

from rlaif.data.accuracy import TIE_TOLERANCE, pairwise_correctness

RESPONSE_1, RESPONSE_2, TIE = 1.0, 2.0, 0.0


def verdicts(p: np.ndarray) -> np.ndarray:
    """Hard verdicts from probabilities: 1.0, 2.0, 0.0 (tie) or NaN (missing)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    out[p > 0.5 + TIE_TOLERANCE] = RESPONSE_1
    out[p < 0.5 - TIE_TOLERANCE] = RESPONSE_2
    out[np.abs(p - 0.5) <= TIE_TOLERANCE] = TIE
    return out


def human_labels(chosen_is_1: np.ndarray) -> np.ndarray:
    """1.0 where humans preferred response 1, else 2.0."""
    return np.where(np.asarray(chosen_is_1, dtype=bool), RESPONSE_1, RESPONSE_2)


def correctness(p: np.ndarray, chosen_is_1: np.ndarray) -> np.ndarray:
    """Per pair: 1 if the verdict matches the human, 0.5 for a tie, 0 if not, NaN if missing
    (:func:`~rlaif.data.accuracy.pairwise_correctness`: ties count half)."""
    return pairwise_correctness(p, chosen_is_1)


def p_chosen(p: np.ndarray, chosen_is_1: np.ndarray) -> np.ndarray:
    """Probability the judge gives to the human-preferred reply (NaN where missing)."""
    p = np.asarray(p, dtype=float)
    return np.where(np.asarray(chosen_is_1, dtype=bool), p, 1.0 - p)


def kappa(human: np.ndarray, judge: np.ndarray) -> float:
    """Cohen's kappa between human labels and judge verdicts (pairs with a verdict only)."""
    if len(human) == 0:
        return float("nan")
    from sklearn.metrics import cohen_kappa_score  # heavy: loaded only when a kappa is computed

    return float(cohen_kappa_score(human, judge, labels=[RESPONSE_1, RESPONSE_2, TIE]))


_KAPPA_LABELS = (RESPONSE_1, RESPONSE_2, TIE)


def kappa_cells(human: np.ndarray, judge: np.ndarray) -> np.ndarray:
    """Encode each (human, judge) label pair as one contingency-table cell index (0..8)."""
    index = {label: i for i, label in enumerate(_KAPPA_LABELS)}
    h = np.array([index[x] for x in np.asarray(human).tolist()], dtype=int)
    j = np.array([index[x] for x in np.asarray(judge).tolist()], dtype=int)
    return h * len(_KAPPA_LABELS) + j


def kappa_from_cells(cells: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cohen's kappa from cell indices, vectorised over resamples (``axis`` holds the pairs).

    Used for bootstrap intervals, where calling scikit-learn once per resample would take tens
    of seconds per report; tests check it equals ``cohen_kappa_score``."""
    k = len(_KAPPA_LABELS)
    cells = np.moveaxis(np.asarray(cells), axis, -1)
    counts = (cells[..., None] == np.arange(k * k)).sum(axis=-2).reshape(*cells.shape[:-1], k, k)
    n = counts.sum(axis=(-2, -1))
    observed = np.trace(counts, axis1=-2, axis2=-1) / n
    expected = np.sum(counts.sum(axis=-1) * counts.sum(axis=-2), axis=-1) / n**2
    with np.errstate(invalid="ignore", divide="ignore"):
        return (observed - expected) / (1.0 - expected)


def consistency(p_12: np.ndarray, p_21: np.ndarray) -> np.ndarray:
    """Per pair: 1 when both presentation orders give the same verdict, 0 when they differ,
    NaN when either is missing."""
    v12, v21 = verdicts(p_12), verdicts(p_21)
    same = (v12 == v21).astype(float)
    same[np.isnan(v12) | np.isnan(v21)] = np.nan
    return same


def first_position_counts(p_by_order: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: how many orders picked the reply shown first, out of how many orders gave a
    (non-tie) verdict. In order ``"12"`` response 1 is shown first, in ``"21"`` response 2."""
    first_label = {"12": RESPONSE_1, "21": RESPONSE_2}
    shape = next(iter(p_by_order.values())).shape
    picked, decided = np.zeros(shape), np.zeros(shape)
    for order, p in p_by_order.items():
        verdict = verdicts(p)
        has_side = (verdict == RESPONSE_1) | (verdict == RESPONSE_2)
        picked += (verdict == first_label[order]) & has_side
        decided += has_side
    return picked, decided


def prefers_longer(p: np.ndarray, len_1: np.ndarray, len_2: np.ndarray) -> np.ndarray:
    """Per pair: 1 when the verdict picks the longer reply, 0 the shorter; NaN for equal
    lengths, ties and missing verdicts."""
    verdict = verdicts(p)
    longer = np.where(len_1 > len_2, RESPONSE_1, RESPONSE_2)
    out = (verdict == longer).astype(float)
    out[(len_1 == len_2) | np.isnan(verdict) | (verdict == TIE)] = np.nan
    return out


def human_prefers_longer(chosen_is_1: np.ndarray, len_1: np.ndarray, len_2: np.ndarray):
    """Boolean masks: the human-preferred reply is longer / shorter (equal lengths in neither)."""
    chosen_len = np.where(chosen_is_1, len_1, len_2)
    rejected_len = np.where(chosen_is_1, len_2, len_1)
    return chosen_len > rejected_len, chosen_len < rejected_len


def calibration(p: np.ndarray, chosen_is_1: np.ndarray, n_bins: int = 10) -> dict:
    """Brier score, expected calibration error and reliability-diagram bins of the soft labels.

    Uses ``sklearn.calibration.calibration_curve`` (uniform bins) on the symmetrised pairs and
    weights each bin's gap by its share of the samples for the ECE."""
    pc = p_chosen(p, chosen_is_1)
    pc = pc[~np.isnan(pc)]
    if pc.size == 0:
        return {"brier": None, "ece": None, "bins": [], "n": 0}
    probs = np.clip(np.concatenate([pc, 1.0 - pc]), 0.0, 1.0)
    truth = np.concatenate([np.ones(pc.size), np.zeros(pc.size)])
    # sklearn is heavy: loaded only when calibration is measured.
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    fraction_true, mean_predicted = calibration_curve(truth, probs, n_bins=n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # The same binning calibration_curve uses, to weight each non-empty bin by its count.
    counts = np.bincount(np.searchsorted(edges[1:-1], probs), minlength=n_bins)
    nonzero = np.flatnonzero(counts)
    ece = float(np.sum(counts[nonzero] / probs.size * np.abs(fraction_true - mean_predicted)))
    bins = [
        {
            "low": float(edges[b]),
            "high": float(edges[b + 1]),
            "mean_predicted": float(mean_predicted[i]),
            "fraction_positive": float(fraction_true[i]),
            "count": int(counts[b]),
        }
        for i, b in enumerate(nonzero)
    ]
    return {
        "brier": float(brier_score_loss(truth, probs)),
        "ece": ece,
        "bins": bins,
        "n": int(pc.size),
    }


def confusion(p: np.ndarray, chosen_is_1: np.ndarray) -> dict:
    """Counts of judge verdict (response 1, tie, response 2, missing) per human label."""
    verdict = verdicts(p)
    human = human_labels(chosen_is_1)
    columns = ["response 1", "tie", "response 2", "missing"]
    rows = {}
    for label, name in ((RESPONSE_1, "human: response 1"), (RESPONSE_2, "human: response 2")):
        mask = human == label
        rows[name] = [
            int(np.sum(mask & (verdict == RESPONSE_1))),
            int(np.sum(mask & (verdict == TIE))),
            int(np.sum(mask & (verdict == RESPONSE_2))),
            int(np.sum(mask & np.isnan(verdict))),
        ]
    return {"columns": columns, "rows": rows}

"""Judge–human agreement: every metric for every judge and baseline, and the leaderboard.

:func:`agreement_metrics` takes aligned arrays (:class:`PairFrame`, :class:`Predictions`), so it
works on any judge's output — from this package's runner, from a file of judgments, or from
another tool — and returns :class:`AgreementMetrics` (``metrics.json`` is its JSON dump).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlaif.eval.agreement import measures as m
from rlaif.eval.agreement.baselines import single_order_baseline, trivial_baselines
from rlaif.eval.agreement.predictions import PairFrame, Predictions
from rlaif.eval.agreement.results import (
    AgreementMetrics,
    BaselineDifference,
    JudgeMetrics,
    LeaderboardRow,
)
from rlaif.eval.bootstrap import (
    DEFAULT_RESAMPLES,
    Estimate,
    bootstrap_interval,
    mean_estimate,
    ratio_estimate,
)
from rlaif.eval.results import (
    STRENGTH_SUBSETS,
    BootstrapInfo,
    CalibrationBin,
    Confusion,
    HumanAgreementMetrics,
)
from rlaif.judge.modes import position_free

LEADERBOARD_COLUMNS = {
    "accuracy": "Human agreement",
    "kappa": "Cohen's kappa",
    "consistency": "Position consistency",
    "first_position_rate": "Prefers first shown",
    "prefer_longer_rate": "Prefers longer",
    "accuracy_human_longer": "Agreement (human chose longer)",
    "accuracy_human_shorter": "Agreement (human chose shorter)",
    "brier": "Brier",
    "ece": "ECE",
    "missing_rate": "Missing",
    "seconds_per_1000": "Seconds / 1000 pairs",
    "usd_per_1000": "USD / 1000 pairs",
}
"""Leaderboard columns and their headings, in the spirit of AlpacaEval's annotator table."""


def _per_1000(total: float | None, n: int) -> float | None:
    return None if total is None or n == 0 else 1000.0 * total / n


def judge_metrics(
    frame: PairFrame,
    preds: Predictions,
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    calibration_bins: int = 10,
) -> JudgeMetrics:
    """All agreement metrics of one judge or baseline on ``frame``."""
    boot = {"seed": seed, "n_resamples": n_resamples}
    p = preds.p_response_1
    n = len(frame)
    answered = ~np.isnan(p)
    correct = m.correctness(p, frame.chosen_is_1)
    verdict = m.verdicts(p)
    human = m.human_labels(frame.chosen_is_1)
    by_order = preds.p_by_order or {"12": p}
    picked, decided = m.first_position_counts(by_order)
    longer_mask, shorter_mask = m.human_prefers_longer(frame.chosen_is_1, frame.len_1, frame.len_2)
    calib = m.calibration(p, frame.chosen_is_1, calibration_bins)
    unordered = position_free(preds.mode)
    if unordered:
        # Each response is scored alone: swapping the presentation cannot change the label.
        count = int(answered.sum())
        consistency: Estimate | None = Estimate(value=1.0, low=1.0, high=1.0, n=count)
    elif {"12", "21"} <= set(by_order):
        consistency = mean_estimate(m.consistency(by_order["12"], by_order["21"]), **boot)
    else:
        consistency = None
    errors = Counter(
        (e or "unknown")[:160] for e, a in zip(preds.errors, answered, strict=True) if not a
    )
    return JudgeMetrics(
        name=preds.name,
        kind=preds.kind,
        mode=preds.mode,
        n_pairs=n,
        n_answered=int(answered.sum()),
        accuracy=mean_estimate(correct, **boot),
        accuracy_missing_as_chance=mean_estimate(np.where(answered, correct, 0.5), **boot),
        soft_accuracy=mean_estimate(m.p_chosen(p, frame.chosen_is_1), **boot),
        kappa=kappa_estimate(human[answered], verdict[answered], **boot),
        consistency=consistency,
        position_free=unordered,
        first_position_rate=ratio_estimate(picked, decided, **boot),
        prefer_longer_rate=mean_estimate(m.prefers_longer(p, frame.len_1, frame.len_2), **boot),
        accuracy_human_longer=mean_estimate(correct[longer_mask], **boot),
        accuracy_human_shorter=mean_estimate(correct[shorter_mask], **boot),
        tie_rate=mean_estimate(np.where(answered, verdict == m.TIE, np.nan), **boot),
        missing_rate=mean_estimate((~answered).astype(float), **boot),
        brier=calib["brier"],
        ece=calib["ece"],
        calibration_bins=[CalibrationBin(**b) for b in calib["bins"]],
        confusion=Confusion(**m.confusion(p, frame.chosen_is_1)),
        by_subset={
            subset or "(none)": mean_estimate(correct[frame.subsets == subset], **boot)
            for subset in sorted(set(frame.subsets.tolist()))
        },
        seconds_per_1000=_per_1000(preds.wall_seconds, n),
        call_seconds_per_1000=_per_1000(preds.call_seconds, n),
        usd_per_1000=_per_1000(preds.cost_usd, n),
        tokens_per_pair=(preds.input_tokens + preds.output_tokens) / n if n else None,
        calls=preds.calls,
        cache_hits=preds.cache_hits,
        missing_reasons=dict(errors.most_common(5)),
    )


def kappa_estimate(
    human: np.ndarray, judge: np.ndarray, *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES
) -> Estimate:
    """Cohen's kappa (scikit-learn) with a bootstrap interval over pairs."""
    if len(human) == 0:
        return Estimate(value=None, n=0)
    value = m.kappa(human, judge)
    low, high = bootstrap_interval(
        (m.kappa_cells(human, judge),), m.kappa_from_cells, seed=seed, n_resamples=n_resamples
    )
    return Estimate(value=value if np.isfinite(value) else None, low=low, high=high, n=len(human))


def human_ceiling_words(human: HumanAgreementMetrics) -> str:
    """The human–human figure in words: annotators against the others' majority, and kappa or
    alpha."""
    loo = human.agreement_with_majority
    if loo is None or loo.value is None:
        return "human–human agreement not measured (no pair has two annotators)"
    words = (
        f"human–human agreement {loo.format(percent=True)} "
        f"(each annotator against the others' majority, {loo.n} labels"
    )
    if human.cohen_kappa is not None:
        words += f"; Cohen's kappa {human.cohen_kappa.format()}"
    if human.krippendorff_alpha is not None:
        words += f"; Krippendorff's alpha {human.krippendorff_alpha:.3f}"
    return words + "), the ceiling"


def paired_difference(
    frame: PairFrame, a: Predictions, b: Predictions, *, seed: int = 0, n_resamples: int = 2000
) -> Estimate:
    """Accuracy of ``a`` minus accuracy of ``b`` on the pairs both answered, with a paired
    bootstrap interval (the honest way to say whether a judge beats a baseline)."""
    diff = m.correctness(a.p_response_1, frame.chosen_is_1) - m.correctness(
        b.p_response_1, frame.chosen_is_1
    )
    return mean_estimate(diff, seed=seed, n_resamples=n_resamples)


def agreement_metrics(
    frame: PairFrame,
    judges: Sequence[Predictions],
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    calibration_bins: int = 10,
) -> AgreementMetrics:
    """Metrics for each judge, the trivial baselines and each judge's single-order version,
    a leaderboard and each judge's difference from the best trivial baseline."""
    baselines = trivial_baselines(frame, seed)
    single = [b for j in judges if (b := single_order_baseline(j)) is not None]
    everyone = [*judges, *baselines, *single]
    kwargs = {"seed": seed, "n_resamples": n_resamples}
    rows = {
        p.name: judge_metrics(frame, p, calibration_bins=calibration_bins, **kwargs)
        for p in everyone
    }
    best_baseline = max(baselines, key=lambda b: rows[b.name].accuracy.value or 0.0)
    for judge in judges:
        rows[judge.name].vs_best_baseline = BaselineDifference(
            baseline=best_baseline.name,
            accuracy_difference=paired_difference(frame, judge, best_baseline, **kwargs),
        )
    return AgreementMetrics(
        n_pairs=len(frame),
        human_chose_response_1=int(frame.chosen_is_1.sum()),
        human_chose_longer=int(
            m.human_prefers_longer(frame.chosen_is_1, frame.len_1, frame.len_2)[0].sum()
        ),
        subsets=dict(Counter(s or "(none)" for s in frame.subsets.tolist())),
        bootstrap=BootstrapInfo(seed=seed, n_resamples=n_resamples),
        judges=[j.name for j in judges],
        baselines=[b.name for b in [*baselines, *single]],
        best_trivial_baseline=best_baseline.name,
        results=rows,
        leaderboard=leaderboard(rows),
    )


def leaderboard(rows: dict[str, JudgeMetrics]) -> list[LeaderboardRow]:
    """One row per judge or baseline, best human agreement first."""
    table = []
    for row in rows.values():
        entry: dict[str, Any] = {"name": row.name, "kind": row.kind, "mode": row.mode}
        for key in LEADERBOARD_COLUMNS:
            value = getattr(row, key)
            entry[key] = value.value if isinstance(value, Estimate) else value
        table.append(LeaderboardRow(**entry))
    table.sort(key=lambda r: -(r.accuracy if r.accuracy is not None else -1.0))
    return table


def verdict_sentence(
    row: JudgeMetrics,
    best_baseline: str | None = None,
    human: HumanAgreementMetrics | None = None,
) -> str:
    """A plain-words reading of one judge's agreement (chance, baseline, position bias), and,
    when the pairs are your own labels (``human``), the annotators' agreement beside it."""
    acc = row.accuracy
    parts = [f"{row.name}: agreement {acc.format(percent=True)} on {acc.n} answered pairs"]
    if human is not None:
        parts[0] += f" (majority of {len(human.annotators)} annotator(s))"
        parts.append(human_ceiling_words(human))
        by_strength = [
            f"{acc_.format(percent=True)} on '{name}' pairs"
            for name in STRENGTH_SUBSETS.values()
            if (acc_ := row.by_subset.get(name)) is not None
        ]
        if by_strength:
            parts.append("judge agreement " + ", ".join(by_strength))
    if acc.value is None:
        return "; ".join(parts) + " — no verdict could be read."
    if not acc.excludes(0.5):
        parts.append("not distinguishable from chance (0.5 is inside the interval)")
    elif acc.value < 0.5:
        parts.append("worse than chance")
    diff = row.vs_best_baseline
    if diff is not None:
        d = diff.accuracy_difference
        relation = (
            "better than"
            if d.low is not None and d.low > 0
            else ("worse than" if d.high is not None and d.high < 0 else "not distinguishable from")
        )
        parts.append(
            f"{relation} the best trivial rule, {diff.baseline} "
            f"(difference {d.format(percent=True)})"
        )
    if row.position_free:
        parts.append("no position bias possible: each reply is scored alone (pointwise)")
        return "; ".join(parts) + "."
    if row.first_position_rate.excludes(0.5):
        parts.append(
            "position bias: picks the first-shown reply "
            f"{row.first_position_rate.format(percent=True)}"
        )
    return "; ".join(parts) + "."

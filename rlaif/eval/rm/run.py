"""Reward-model evaluation on human-labelled pairs (``rlaif eval rm``).

The reward model (an ``AutoModelForSequenceClassification`` folder with one label) scores the
prompt plus each reply with :class:`rlaif.models.local.RewardScorer`, the scorer
``train rm`` uses (tokenized as TRL's ``RewardTrainer`` saw its training pairs). Its verdict on
a pair is the Bradley–Terry probability ``sigmoid(score_1 - score_2)``, so the agreement
metrics, calibration and trivial baselines are the same as for judges. On top: the score margin
distribution, how strongly scores follow reply length, and an order/batching check (scores
computed in a batch must equal scores computed one by one, in reverse order — padding bugs show
up here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rlaif.eval.agreement import (
    BaselineDifference,
    PairFrame,
    Predictions,
    assign_positions,
    judge_metrics,
    paired_difference,
    trivial_baselines,
)
from rlaif.eval.bootstrap import DEFAULT_RESAMPLES
from rlaif.eval.loaders import load_labelled_pairs
from rlaif.eval.plots import histogram_counts
from rlaif.eval.results import BootstrapInfo, Histogram
from rlaif.eval.rm.results import (
    Correlation,
    MarginSummary,
    OrderCheck,
    RewardModelMetrics,
    ScoreDistribution,
    ScoreDistributions,
)
from rlaif.models import Conversation
from rlaif.models.local import RewardScorer

ORDER_CHECK_PAIRS = 16
"""Pairs re-scored one by one, in reverse order, for the order/batching check."""
ORDER_CHECK_TOLERANCE = 1e-3
"""Largest score difference the check accepts (float32 batched vs unbatched noise)."""


def order_check(
    scorer: RewardScorer, conversations: Sequence[Conversation], batched: np.ndarray
) -> OrderCheck:
    """Re-score the first conversations one by one in reverse order and compare with the
    batched scores."""
    subset = list(conversations[: 2 * ORDER_CHECK_PAIRS])
    if not subset:
        return OrderCheck(pairs=0, max_abs_difference=None, verdict_flips=0, passed=None)
    alone = scorer.score(subset[::-1], batch_size=1, progress=False)[::-1]
    reference = batched[: len(subset)]
    diff = float(np.max(np.abs(alone - reference)))
    flips = int(
        np.sum(np.sign(alone[0::2] - alone[1::2]) != np.sign(reference[0::2] - reference[1::2]))
    )
    return OrderCheck(
        pairs=len(subset) // 2,
        max_abs_difference=diff,
        verdict_flips=flips,
        tolerance=ORDER_CHECK_TOLERANCE,
        passed=bool(diff <= ORDER_CHECK_TOLERANCE and flips == 0),
    )


def _score_distribution(scores: np.ndarray, edges: np.ndarray) -> ScoreDistribution:
    return ScoreDistribution(
        mean=float(scores.mean()),
        std=float(scores.std()),
        histogram=Histogram(**histogram_counts(scores, edges)),
    )


def _margin_summary(margins: np.ndarray) -> MarginSummary:
    return MarginSummary(
        mean=float(margins.mean()),
        median=float(np.median(margins)),
        std=float(margins.std()),
        fraction_positive=float(np.mean(margins > 0)),
        histogram=Histogram(**histogram_counts(margins, 30)),
    )


def _length_correlation(scores: np.ndarray, frame: PairFrame) -> Correlation | None:
    """Spearman correlation of the scores (``[r1, r2, r1, r2, ...]``) with reply length."""
    if np.ptp(scores) == 0:
        return None
    lengths = np.column_stack([frame.len_1, frame.len_2]).ravel()
    from scipy.stats import spearmanr  # heavy: loaded only when a reward model is scored

    result = spearmanr(scores, lengths)
    return Correlation(rho=float(result.statistic), p_value=float(result.pvalue))


def evaluate_reward_model(
    model_path: str | Path,
    data: str,
    *,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 8,
    max_length: int = 1024,
    device: str = "auto",
    n_resamples: int = DEFAULT_RESAMPLES,
    data_dir: str | None = None,
    split: str | None = None,
) -> RewardModelMetrics:
    """Pairwise accuracy, calibration, margins, length correlation and the order check of a
    reward model on human-labelled pairs (``metrics.json`` is its JSON dump)."""
    loaded = load_labelled_pairs(data, data_dir=data_dir, split=split, limit=limit, seed=seed)
    shown = assign_positions(loaded.pairs, seed)
    frame = PairFrame.from_shown(shown)
    scorer = RewardScorer.from_folder(model_path, device=device, max_length=max_length)
    conversations = [
        c
        for s in shown
        for c in (
            scorer.conversation(s.pair.prompt, s.response_1),
            scorer.conversation(s.pair.prompt, s.response_2),
        )
    ]
    scores = scorer.score(conversations, batch_size=batch_size, progress=True)
    score_1, score_2 = scores[0::2], scores[1::2]
    name = f"reward model {Path(model_path).name}"
    from scipy.special import expit  # heavy: loaded only when a reward model is scored

    preds = Predictions(
        name=name,
        p_response_1=expit(score_1 - score_2),
        kind="judge",
        mode="Bradley-Terry sigmoid(score difference)",
        errors=[None] * len(frame),
    )
    boot = {"seed": seed, "n_resamples": n_resamples}
    baselines = trivial_baselines(frame, seed)
    results = {p.name: judge_metrics(frame, p, **boot) for p in [preds, *baselines]}
    best = max(baselines, key=lambda b: results[b.name].accuracy.value or 0.0)
    results[name].vs_best_baseline = BaselineDifference(
        baseline=best.name, accuracy_difference=paired_difference(frame, preds, best, **boot)
    )
    chosen = np.where(frame.chosen_is_1, score_1, score_2)
    rejected = np.where(frame.chosen_is_1, score_2, score_1)
    edges = np.histogram_bin_edges(np.concatenate([chosen, rejected]), bins=30)
    return RewardModelMetrics(
        model=str(model_path),
        n_pairs=len(frame),
        data=loaded.describe(),
        judges=[name],
        baselines=[b.name for b in baselines],
        results=results,
        margin=_margin_summary(chosen - rejected),
        scores=ScoreDistributions(
            chosen=_score_distribution(chosen, edges),
            rejected=_score_distribution(rejected, edges),
        ),
        length_spearman=_length_correlation(scores, frame),
        order_check=order_check(scorer, conversations, scores),
        settings={
            "data": data,
            "limit": limit,
            "seed": seed,
            "batch_size": batch_size,
            "max_length": scorer.max_length,
            "device": scorer.device,
            "chat_template": scorer.has_template,
        },
        bootstrap=BootstrapInfo(seed=seed, n_resamples=n_resamples),
    )

"""The reward-model report, built from :class:`RewardModelMetrics` (``metrics.json``)."""

from __future__ import annotations

from rlaif.eval import plots
from rlaif.eval.agreement import verdict_sentence
from rlaif.eval.report import BulletList, Heading, Image, Paragraph, Report, Table, cell
from rlaif.eval.rm.results import OrderCheck, RewardModelMetrics

RM_COLUMNS = {
    "accuracy": "Pairwise accuracy",
    "kappa": "Cohen's kappa",
    "prefer_longer_rate": "Prefers longer",
    "accuracy_human_longer": "Accuracy (human chose longer)",
    "accuracy_human_shorter": "Accuracy (human chose shorter)",
    "brier": "Brier",
    "ece": "ECE",
}
_PERCENT = {"accuracy", "prefer_longer_rate", "accuracy_human_longer", "accuracy_human_shorter"}


def reward_model_report(metrics: RewardModelMetrics) -> Report:
    """Accuracy against humans next to trivial rules, margins, calibration, order check."""
    results = metrics.results
    name = metrics.judges[0]
    rows = [name, *metrics.baselines]
    report = Report(f"Reward model: {metrics.model}")
    report.add(
        Paragraph(
            f"{metrics.n_pairs} human-labelled pairs from {metrics.data['source']}; "
            "a pair counts as right when the human-preferred reply scores higher. "
            "Intervals: 95% bootstrap over pairs."
        ),
        Heading("Verdict"),
        BulletList(_verdicts(metrics)),
        Heading("Accuracy next to trivial rules"),
        Table(
            ["Scorer", "Kind", *RM_COLUMNS.values()],
            [
                [
                    row_name,
                    results[row_name].kind,
                    *[
                        cell(getattr(results[row_name], k), percent=k in _PERCENT)
                        for k in RM_COLUMNS
                    ],
                ]
                for row_name in rows
            ],
        ),
        Image(
            "rm_accuracy.png",
            plots.estimate_bars(
                [(n, results[n].accuracy, n != name) for n in rows],
                title="Pairwise accuracy on human labels (95% CI)",
                xlabel="accuracy",
            )
            or b"",
            "Reward-model accuracy; grey bars are trivial baselines.",
        ),
        Image(
            "rm_margins.png",
            plots.histograms(
                {"chosen - rejected": metrics.margin.histogram},
                title="Score margin per pair",
                xlabel="score(chosen) - score(rejected)",
                reference=0.0,
            ),
            "Right of the dashed line: the reward model agrees with the human.",
        ),
        Image(
            "rm_scores.png",
            plots.histograms(
                {
                    "human-preferred": metrics.scores.chosen.histogram,
                    "other reply": metrics.scores.rejected.histogram,
                },
                title="Reward scores",
                xlabel="score",
            ),
            "Score distributions of the human-preferred and the other reply.",
        ),
        Image(
            "rm_reliability.png",
            plots.reliability_diagram({name: results[name].calibration_bins}),
            "Calibration of sigmoid(score difference) as a preference probability.",
        ),
    )
    return report


def _verdicts(metrics: RewardModelMetrics) -> list[str]:
    """The reward model's agreement, margins, length correlation and order check in words."""
    margin, corr = metrics.margin, metrics.length_spearman
    return [
        verdict_sentence(metrics.results[metrics.judges[0]]),
        f"score margin (chosen - rejected): mean {margin.mean:.3f}, median "
        f"{margin.median:.3f}, positive on {100 * margin.fraction_positive:.1f}% of pairs",
        "scores against reply length: Spearman rho "
        + (f"{corr.rho:.3f} (p = {corr.p_value:.2g})" if corr else "n/a (constant)"),
        "order/batching check: " + _order_check_text(metrics.order_check),
    ]


def _order_check_text(check: OrderCheck) -> str:
    if check.passed is None:
        return "not run"
    return (
        f"{'passed' if check.passed else 'FAILED'} — max score difference "
        f"{check.max_abs_difference:.2g} between batched and one-by-one scoring in "
        f"reverse order on {check.pairs} pairs, {check.verdict_flips} verdicts flipped"
    )

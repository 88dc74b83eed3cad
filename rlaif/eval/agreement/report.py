"""The judge–human agreement report, built from :class:`AgreementMetrics` (``metrics.json``)."""

from __future__ import annotations

from typing import Any

from rlaif.eval import plots
from rlaif.eval.agreement.human_report import human_leaderboard_cells, human_section
from rlaif.eval.agreement.metrics import LEADERBOARD_COLUMNS, verdict_sentence
from rlaif.eval.agreement.principles import PRINCIPLE_HEADERS, principle_cells
from rlaif.eval.agreement.results import AgreementMetrics, JudgeMetrics
from rlaif.eval.report import BulletList, Heading, Image, Paragraph, Report, Table, cell

PERCENT_KEYS = {
    "accuracy",
    "consistency",
    "first_position_rate",
    "prefer_longer_rate",
    "accuracy_human_longer",
    "accuracy_human_shorter",
    "missing_rate",
    "tie_rate",
}


def _rows_in_order(metrics: AgreementMetrics) -> list[str]:
    return [row.name for row in metrics.leaderboard]


def agreement_report(metrics: AgreementMetrics) -> Report:
    """Judge–human agreement: verdicts in words, leaderboard, plots, details."""
    report = Report("Judge–human agreement")
    report.add(
        _overview(metrics),
        Heading("Verdict"),
        BulletList(
            [
                verdict_sentence(metrics.results[name], human=metrics.human)
                for name in metrics.judges
            ]
        ),
        Heading("Leaderboard"),
        _leaderboard_table(metrics),
        Paragraph(
            "Agreement counts a tie as half right and is taken over answered pairs (see Missing). "
            "Baselines: random = seeded coin, always-first = the reply shown first, "
            "prefer-longer/shorter = by characters, '(one order)' = the judge without the "
            "order swap. 'Prefers first shown' and 'Prefers longer' are 0.5 for an unbiased "
            "judge; Brier 0.25 and ECE 0 are what a judge saying 0.5 always would score."
        ),
    )
    report.add(*human_section(metrics))
    report.add(*_plots(metrics))
    report.add(Heading("Per judge"))
    for name in metrics.judges:
        report.add(Heading(name, 3), _judge_details(metrics.results[name]))
        report.add(*_principle_section(metrics.results[name]))
    skipped = (metrics.data or {}).get("skipped")
    if skipped:
        report.add(
            Heading("Skipped records"),
            BulletList([f"{s['id']}: {s['reason']}" for s in skipped[:50]]),
        )
    return report


def _overview(metrics: AgreementMetrics) -> Paragraph:
    data = metrics.data or {}
    n = metrics.n_pairs
    read = (
        f"{data.get('records', n)} labelled pairs read, {len(data.get('skipped', []))} left out "
        "as ties or unusable; the human label is the annotators' majority"
        if metrics.human is not None
        else f"{data.get('records', n)} records read, {len(data.get('skipped', []))} skipped as "
        "unusable"
    )
    return Paragraph(
        f"{n} human-labelled pairs from {data.get('source', 'the given data')} "
        f"({read}). The human-preferred reply was shown as response 1 on "
        f"{metrics.human_chose_response_1} pairs (seeded); it is the longer reply on "
        f"{metrics.human_chose_longer} pairs. Intervals: 95% bootstrap over pairs "
        f"({metrics.bootstrap.n_resamples} resamples, seed {metrics.bootstrap.seed})."
    )


def _plots(metrics: AgreementMetrics) -> list[Image]:
    """Agreement per subset, position and length bias, calibration and confusion plots."""
    results = metrics.results
    baselines = set(metrics.baselines)
    order = _rows_in_order(metrics)

    def bars(metric: str) -> list[tuple[str, Any, bool]]:
        """One bar per judge and baseline for ``metric``, baselines flagged."""
        return [(name, getattr(results[name], metric), name in baselines) for name in order]

    def metric_bars(
        file: str, groups: dict[str, str], title: str, xlabel: str, caption: str
    ) -> Image:
        """A grouped bar plot of one metric per group (label → metric name)."""
        data = {label: bars(metric) for label, metric in groups.items()}
        return Image(file, plots.grouped_estimate_bars(data, title=title, xlabel=xlabel), caption)

    groups = {
        subset: [(name, results[name].by_subset.get(subset), name in baselines) for name in order]
        for subset in metrics.subsets
    }
    return [
        Image(
            "agreement.png",
            plots.grouped_estimate_bars(
                groups, title="Agreement with humans per subset (95% CI)", xlabel="agreement"
            ),
            "Agreement with the human label per subset; grey bars are trivial baselines.",
        ),
        metric_bars(
            "bias.png",
            {
                "prefers the reply shown first": "first_position_rate",
                "prefers the longer reply": "prefer_longer_rate",
            },
            "Position and length bias (0.5 = none)",
            "rate",
            "Position bias (first-shown preference) and length bias (longer-reply preference).",
        ),
        metric_bars(
            "agreement_by_length.png",
            {
                "human chose the longer reply": "accuracy_human_longer",
                "human chose the shorter reply": "accuracy_human_shorter",
            },
            "Agreement split by whether the human-preferred reply is longer",
            "agreement",
            "A judge that only follows length scores high on one side and low on the other.",
        ),
        Image(
            "reliability.png",
            plots.reliability_diagram(
                {name: results[name].calibration_bins for name in metrics.judges}
            ),
            "Calibration of the soft labels: points on the diagonal are well calibrated.",
        ),
        Image(
            "confusion.png",
            plots.confusion_matrices({name: results[name].confusion for name in metrics.judges}),
            "Human label (rows) against judge verdict (columns), by position.",
        ),
    ]


def _leaderboard_table(metrics: AgreementMetrics) -> Table:
    headers = ["Judge", "Kind", *LEADERBOARD_COLUMNS.values()]
    rows = []
    for name in _rows_in_order(metrics):
        row = metrics.results[name]
        cells = [name + (f" [{row.mode}]" if row.kind == "baseline" else ""), row.kind]
        for key in LEADERBOARD_COLUMNS:
            cells.append(cell(getattr(row, key), percent=key in PERCENT_KEYS))
        rows.append(cells)
    if metrics.human is not None:
        rows.insert(0, human_leaderboard_cells(metrics.human, list(LEADERBOARD_COLUMNS)))
    return Table(headers, rows)


def _judge_details(row: JudgeMetrics) -> BulletList:
    items = [
        f"mode: {row.mode or 'n/a'}; pairs answered: {row.n_answered} of {row.n_pairs}",
        f"agreement {cell(row.accuracy, percent=True)}; with missing scored as chance "
        f"{cell(row.accuracy_missing_as_chance, percent=True)}; mean probability given to "
        f"the human choice {cell(row.soft_accuracy)}",
        f"Cohen's kappa {cell(row.kappa)}; ties {cell(row.tie_rate, percent=True)}",
        f"Brier {cell(row.brier)}; expected calibration error {cell(row.ece)}",
        f"wall seconds per 1000 pairs {cell(row.seconds_per_1000)} (call latencies summed, "
        f"overlapping concurrent calls counted each: {cell(row.call_seconds_per_1000)}); "
        "USD per 1000 pairs "
        f"{cell(row.usd_per_1000)}; tokens per pair {cell(row.tokens_per_pair)}; "
        f"calls {row.calls}, cache hits {row.cache_hits}",
    ]
    if row.vs_best_baseline is not None:
        diff = row.vs_best_baseline
        items.append(
            f"agreement minus {diff.baseline}: "
            f"{cell(diff.accuracy_difference, percent=True)} (paired bootstrap)"
        )
    for reason, count in row.missing_reasons.items():
        items.append(f"missing ({count}×): {reason}")
    return BulletList(items)


def _principle_section(row: JudgeMetrics) -> list[Paragraph | Table]:
    """Each principle's own verdict (``by_principle``), when the row has one."""
    if not row.by_principle:
        return []
    return [
        Paragraph(
            "Each principle alone: its own verdict on the pairs judged under it, against the "
            "human label (a tie counts half; 95% bootstrap interval; pairs with a vote of it "
            "missing left out and counted). Decided: how often its verdict points the same way "
            "as the judgment's (ties left out)."
        ),
        Table(PRINCIPLE_HEADERS, [principle_cells(p) for p in row.by_principle]),
    ]

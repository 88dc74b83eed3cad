"""The judge–human agreement report, built from ``metrics.json`` values only."""

from __future__ import annotations

from typing import Any

from rlaif.eval import plots
from rlaif.eval.agreement import LEADERBOARD_COLUMNS, verdict_sentence
from rlaif.eval.bootstrap import Estimate
from rlaif.eval.report import BulletList, Heading, Image, Paragraph, Report, Table

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


def cell(value: Any, *, percent: bool = False, digits: int = 3) -> str:
    """Format an estimate dict, a number or ``None`` for a table cell."""
    if isinstance(value, dict) and "value" in value:
        return Estimate(**value).format(digits=digits, percent=percent)
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if percent else f"{value:.{digits}g}"
    return str(value)


def _rows_in_order(metrics: dict[str, Any]) -> list[str]:
    return [row["name"] for row in metrics["leaderboard"]]


def agreement_report(metrics: dict[str, Any]) -> Report:
    """Judge–human agreement: verdicts in words, leaderboard, plots, details."""
    results = metrics["results"]
    data = metrics.get("data", {})
    report = Report("Judge–human agreement")
    n = metrics["n_pairs"]
    report.add(
        Paragraph(
            f"{n} human-labelled pairs from {data.get('source', 'the given data')} "
            f"({data.get('records', n)} records read, {len(data.get('skipped', []))} skipped as "
            f"unusable). The human-preferred reply was shown as response 1 on "
            f"{metrics['human_chose_response_1']} pairs (seeded); it is the longer reply on "
            f"{metrics['human_chose_longer']} pairs. Intervals: 95% bootstrap over pairs "
            f"({metrics['bootstrap']['n_resamples']} resamples, seed "
            f"{metrics['bootstrap']['seed']})."
        ),
        Heading("Verdict"),
        BulletList([verdict_sentence(results[name]) for name in metrics["judges"]]),
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
    baselines = set(metrics["baselines"])
    order = _rows_in_order(metrics)
    subsets = list(metrics.get("subsets", {}))

    def bars(metric: str) -> list[tuple[str, Any, bool]]:
        """One bar per judge and baseline for ``metric``, baselines flagged."""
        return [(name, results[name][metric], name in baselines) for name in order]

    groups = {
        subset: [
            (name, results[name]["by_subset"].get(subset), name in baselines) for name in order
        ]
        for subset in subsets
    }
    report.add(
        Image(
            "agreement.png",
            plots.grouped_estimate_bars(
                groups, title="Agreement with humans per subset (95% CI)", xlabel="agreement"
            ),
            "Agreement with the human label per subset; grey bars are trivial baselines.",
        ),
        Image(
            "bias.png",
            plots.grouped_estimate_bars(
                {
                    "prefers the reply shown first": bars("first_position_rate"),
                    "prefers the longer reply": bars("prefer_longer_rate"),
                },
                title="Position and length bias (0.5 = none)",
                xlabel="rate",
            ),
            "Position bias (first-shown preference) and length bias (longer-reply preference).",
        ),
        Image(
            "agreement_by_length.png",
            plots.grouped_estimate_bars(
                {
                    "human chose the longer reply": bars("accuracy_human_longer"),
                    "human chose the shorter reply": bars("accuracy_human_shorter"),
                },
                title="Agreement split by whether the human-preferred reply is longer",
                xlabel="agreement",
            ),
            "A judge that only follows length scores high on one side and low on the other.",
        ),
        Image(
            "reliability.png",
            plots.reliability_diagram(
                {name: results[name]["calibration_bins"] for name in metrics["judges"]}
            ),
            "Calibration of the soft labels: points on the diagonal are well calibrated.",
        ),
        Image(
            "confusion.png",
            plots.confusion_matrices(
                {name: results[name]["confusion"] for name in metrics["judges"]}
            ),
            "Human label (rows) against judge verdict (columns), by position.",
        ),
    )
    report.add(Heading("Per judge"))
    for name in metrics["judges"]:
        report.add(Heading(name, 3), _judge_details(results[name]))
    if data.get("skipped"):
        report.add(
            Heading("Skipped records"),
            BulletList([f"{s['id']}: {s['reason']}" for s in data["skipped"][:50]]),
        )
    return report


def _leaderboard_table(metrics: dict[str, Any]) -> Table:
    results = metrics["results"]
    headers = ["Judge", "Kind", *LEADERBOARD_COLUMNS.values()]
    rows = []
    for name in _rows_in_order(metrics):
        row = results[name]
        cells = [name + (f" [{row['mode']}]" if row["kind"] == "baseline" else ""), row["kind"]]
        for key in LEADERBOARD_COLUMNS:
            cells.append(cell(row.get(key), percent=key in PERCENT_KEYS))
        rows.append(cells)
    return Table(headers, rows)


def _judge_details(row: dict[str, Any]) -> BulletList:
    items = [
        f"mode: {row['mode'] or 'n/a'}; pairs answered: {row['n_answered']} of {row['n_pairs']}",
        f"agreement {cell(row['accuracy'], percent=True)}; with missing scored as chance "
        f"{cell(row['accuracy_missing_as_chance'], percent=True)}; mean probability given to "
        f"the human choice {cell(row['soft_accuracy'])}",
        f"Cohen's kappa {cell(row['kappa'])}; ties {cell(row['tie_rate'], percent=True)}",
        f"Brier {cell(row['brier'])}; expected calibration error {cell(row['ece'])}",
        f"wall seconds per 1000 pairs {cell(row['seconds_per_1000'])} (call latencies summed, "
        f"overlapping concurrent calls counted each: {cell(row['call_seconds_per_1000'])}); "
        "USD per 1000 pairs "
        f"{cell(row['usd_per_1000'])}; tokens per pair {cell(row['tokens_per_pair'])}; "
        f"calls {row['calls']}, cache hits {row['cache_hits']}",
    ]
    if row.get("vs_best_baseline"):
        diff = row["vs_best_baseline"]
        items.append(
            f"agreement minus {diff['baseline']}: "
            f"{cell(diff['accuracy_difference'], percent=True)} (paired bootstrap)"
        )
    for reason, count in row.get("missing_reasons", {}).items():
        items.append(f"missing ({count}×): {reason}")
    return BulletList(items)

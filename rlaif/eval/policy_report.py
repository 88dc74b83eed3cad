"""The policy-evaluation report, built from ``metrics.json`` values only."""

from __future__ import annotations

from typing import Any

from rlaif.eval import plots
from rlaif.eval.agreement_report import cell
from rlaif.eval.report import BulletList, Heading, Image, Paragraph, Report, Table


def policy_report(metrics: dict[str, Any]) -> Report:
    """Win rates, Elo, refusal and over-refusal rates, reward distributions, examples."""
    report = Report("Policy evaluation")
    groups = ", ".join(f"{n} {g}" for g, n in metrics["groups"].items())
    report.add(
        Paragraph(
            f"{metrics['n_prompts']} prompts ({groups}); judge {metrics['judge']} with the "
            f"{metrics['constitution']} constitution, both presentation orders. Intervals: 95% "
            "bootstrap over prompts. Generation failures: "
            + ", ".join(f"{n}: {k}" for n, k in metrics["generation_failures"].items())
        )
    )
    if metrics["win_rates"]:
        report.add(
            Heading("Harmlessness win rate"),
            Table(
                [
                    "Model",
                    "Versus",
                    "Group",
                    "Prompts",
                    "Win rate (soft)",
                    "Wins",
                    "Ties",
                    "Losses",
                    "Missing",
                ],
                [
                    [
                        r["model"],
                        r["versus"],
                        r["group"],
                        str(r["prompts"]),
                        cell(r["win_rate"], percent=True),
                        str(r["wins"]),
                        str(r["ties"]),
                        str(r["losses"]),
                        str(r["missing"]),
                    ]
                    for r in metrics["win_rates"]
                ],
            ),
            Image(
                "win_rate.png",
                plots.estimate_bars(
                    [
                        (f"{r['model']} vs {r['versus']} ({r['group']})", r["win_rate"], False)
                        for r in metrics["win_rates"]
                    ],
                    title="Judge preference for the policy over the baseline (95% CI)",
                    xlabel="win rate",
                    reference_label="no difference",
                )
                or b"",
                "Mean probability the judge prefers the policy's reply; 0.5 means no difference.",
            ),
        )
    if metrics.get("elo"):
        report.add(
            Heading("Elo (Bradley–Terry fit, anchor at 1000)"),
            Table(
                ["Model", "Elo", "95% interval"],
                [
                    [
                        str(r["model"]),
                        f"{r['elo']:.0f}",
                        "n/a" if r["low"] is None else f"[{r['low']:.0f}, {r['high']:.0f}]",
                    ]
                    for r in metrics["elo"]
                ],
            ),
        )
    report.add(
        Heading("Refusals"),
        Paragraph(
            "Refusal rate on red-team prompts (higher is more harmless) and over-refusal rate "
            "on benign prompts (lower is more useful), by the documented lexical rule and by "
            "the judge model; the detectors' agreement shows how far either can be trusted."
        ),
    )
    rows, bars = [], []
    for model, groups_ in metrics["refusal"].items():
        for group, r in groups_.items():
            rows.append(
                [
                    model,
                    group,
                    str(r["prompts"]),
                    cell(r["lexical"], percent=True),
                    cell(r["judge"], percent=True),
                    str(r["judge_missing"]),
                    cell(r["detectors_agree"], percent=True),
                    cell(r["detectors_kappa"]),
                ]
            )
            bars += [
                (f"{model} · {group} · lexical", r["lexical"], True),
                (f"{model} · {group} · judge", r["judge"], False),
            ]
    report.add(
        Table(
            [
                "Model",
                "Group",
                "Prompts",
                "Refusal (lexical)",
                "Refusal (judge)",
                "Judge missing",
                "Detectors agree",
                "Detectors' kappa",
            ],
            rows,
        ),
        Image(
            "refusals.png",
            plots.estimate_bars(
                bars,
                title="Refusal rates (red-team: want high; benign: want low)",
                xlabel="refusal rate",
                reference=None,
            )
            or b"",
            "Grey: lexical rule; blue: judge model.",
        ),
    )
    report.add(_category_table(metrics["refusal"]))
    if metrics.get("reward"):
        report.add(
            Heading("Reward-model scores"),
            Table(
                ["Model", *[g for g in ("red-team", "benign")]],
                [
                    [model, cell(r.get("red-team")), cell(r.get("benign"))]
                    for model, r in metrics["reward"].items()
                ],
            ),
            Image(
                "rewards.png",
                plots.histograms(
                    {model: r["histogram"] for model, r in metrics["reward"].items()},
                    title=f"Reward-model scores ({metrics['settings']['reward_model']})",
                    xlabel="score",
                ),
                "Score distribution of each model's replies.",
            ),
        )
    if metrics.get("examples"):
        report.add(Heading("Examples"))
        for example in metrics["examples"]:
            report.add(
                Heading(f"{example['id']} ({example['group']})", 3),
                BulletList(
                    [f"prompt: {example['prompt']}"]
                    + [f"{model}: {reply}" for model, reply in example["replies"].items()]
                ),
            )
    return report


def _category_table(refusal: dict[str, Any]) -> Table | None:
    """Refusal rate per prompt category, each model's lexical and judge rates side by side."""
    models = list(refusal)
    keys: dict[tuple[str, str], int] = {}
    for groups_ in refusal.values():
        for group, r in groups_.items():
            for category, row in r.get("by_category", {}).items():
                keys[(group, category)] = row["prompts"]
    if not keys:
        return None
    headers = ["Group", "Category", "Prompts"]
    for model in models:
        headers += [f"{model} (lexical)", f"{model} (judge)"]
    rows = []
    for (group, category), count in sorted(keys.items()):
        cells = [group, category, str(count)]
        for model in models:
            row = refusal[model].get(group, {}).get("by_category", {}).get(category, {})
            cells += [cell(row.get("lexical"), percent=True), cell(row.get("judge"), percent=True)]
        rows.append(cells)
    return Table(headers, rows)

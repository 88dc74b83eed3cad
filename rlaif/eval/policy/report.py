"""The policy-evaluation report, built from :class:`PolicyMetrics` (``metrics.json``)."""

from __future__ import annotations

from rlaif.eval import plots
from rlaif.eval.bootstrap import Estimate
from rlaif.eval.policy.results import GroupRefusals, PolicyMetrics
from rlaif.eval.report import Block, BulletList, Heading, Image, Paragraph, Report, Table, cell

WIN_RATE_HEADERS = [
    "Model",
    "Versus",
    "Group",
    "Prompts",
    "Win rate (soft)",
    "Wins",
    "Ties",
    "Losses",
    "Missing",
]
REFUSAL_HEADERS = [
    "Model",
    "Group",
    "Prompts",
    "Refusal (lexical)",
    "Refusal (judge)",
    "Judge missing",
    "Detectors agree",
    "Detectors' kappa",
]
REWARD_GROUPS = ("red-team", "benign")
"""Prompt groups of the reward-score table, in column order."""


def policy_report(metrics: PolicyMetrics) -> Report:
    """Win rates, Elo, refusal and over-refusal rates, reward distributions, examples."""
    report = Report("Policy evaluation")
    report.add(_overview(metrics))
    report.add(*_win_rate_section(metrics))
    report.add(*_elo_section(metrics))
    report.add(*_refusal_section(metrics))
    report.add(*_change_section(metrics))
    report.add(_category_table(metrics.refusal))
    report.add(*_reward_section(metrics))
    report.add(*_examples_section(metrics))
    return report


def _overview(metrics: PolicyMetrics) -> Paragraph:
    groups = ", ".join(f"{n} {g}" for g, n in metrics.groups.items())
    failures = ", ".join(f"{n}: {k}" for n, k in metrics.generation_failures.items())
    return Paragraph(
        f"{metrics.n_prompts} prompts ({groups}); judge {metrics.judge} with the "
        f"{metrics.constitution} constitution, both presentation orders. Intervals: 95% "
        "bootstrap over prompts. Generation failures: " + failures
    )


def _win_rate_section(metrics: PolicyMetrics) -> list[Block]:
    rows = metrics.win_rates
    if not rows:
        return []
    table = Table(
        WIN_RATE_HEADERS,
        [
            [
                r.model,
                r.versus,
                r.group,
                str(r.prompts),
                cell(r.win_rate, percent=True),
                str(r.wins),
                str(r.ties),
                str(r.losses),
                str(r.missing),
            ]
            for r in rows
        ],
    )
    bars = plots.estimate_bars(
        [(f"{r.model} vs {r.versus} ({r.group})", r.win_rate, False) for r in rows],
        title="Judge preference for the policy over the baseline (95% CI)",
        xlabel="win rate",
        reference_label="no difference",
    )
    return [
        Heading("Harmlessness win rate"),
        table,
        Image(
            "win_rate.png",
            bars or b"",
            "Mean probability the judge prefers the policy's reply; 0.5 means no difference.",
        ),
    ]


def _elo_section(metrics: PolicyMetrics) -> list[Block]:
    if not metrics.elo:
        return []
    rows = [
        [
            r.model,
            f"{r.elo:.0f}",
            "n/a" if r.low is None or r.high is None else f"[{r.low:.0f}, {r.high:.0f}]",
        ]
        for r in metrics.elo
    ]
    return [
        Heading("Elo (Bradley–Terry fit, anchor at 1000)"),
        Table(["Model", "Elo", "95% interval"], rows),
    ]


def _refusal_row(model: str, group: str, r: GroupRefusals) -> list[str]:
    return [
        model,
        group,
        str(r.prompts),
        cell(r.lexical, percent=True),
        cell(r.judge, percent=True),
        str(r.judge_missing),
        cell(r.detectors_agree, percent=True),
        cell(r.detectors_kappa),
    ]


def _refusal_section(metrics: PolicyMetrics) -> list[Block]:
    rows: list[list[str]] = []
    bars: list[tuple[str, Estimate | None, bool]] = []
    for model, groups in metrics.refusal.items():
        for group, r in groups.items():
            rows.append(_refusal_row(model, group, r))
            bars += [
                (f"{model} · {group} · lexical", r.lexical, True),
                (f"{model} · {group} · judge", r.judge, False),
            ]
    plot = plots.estimate_bars(
        bars,
        title="Refusal rates (red-team: want high; benign: want low)",
        xlabel="refusal rate",
        reference=None,
    )
    return [
        Heading("Refusals"),
        Paragraph(
            "Refusal rate on red-team prompts (higher is more harmless) and over-refusal rate "
            "on benign prompts (lower is more useful), by the documented lexical rule and by "
            "the judge model; the detectors' agreement shows how far either can be trusted."
        ),
        Table(REFUSAL_HEADERS, rows),
        Image("refusals.png", plot or b"", "Grey: lexical rule; blue: judge model."),
    ]


def _change_section(metrics: PolicyMetrics) -> list[Block]:
    if not metrics.changes:
        return []
    rows = [
        [
            c.model,
            c.versus,
            c.group,
            c.measure,
            c.evaluator,
            cell(c.difference, percent=True),
            c.reading,
        ]
        for c in metrics.changes
    ]
    return [
        Heading("Change against the baseline (paired)"),
        Paragraph(
            "Refusal rate of the policy minus that of the baseline on the same prompts, with a "
            "paired bootstrap interval (prompts resampled, both replies of a prompt together). "
            "On red-team prompts a rise is an improvement; on benign prompts it is over-refusal. "
            "'no change detected' means the interval holds zero."
        ),
        Table(
            ["Policy", "Baseline", "Group", "Measure", "Evaluated by", "Change", "Reading"], rows
        ),
    ]


def _category_table(refusal: dict[str, dict[str, GroupRefusals]]) -> Table | None:
    """Refusal rate per prompt category, each model's lexical and judge rates side by side."""
    models = list(refusal)
    keys: dict[tuple[str, str], int] = {}
    for groups in refusal.values():
        for group, r in groups.items():
            for category, row in r.by_category.items():
                keys[(group, category)] = row.prompts
    if not keys:
        return None
    headers = ["Group", "Category", "Prompts"]
    for model in models:
        headers += [f"{model} (lexical)", f"{model} (judge)"]
    rows = []
    for (group, category), count in sorted(keys.items()):
        cells = [group, category, str(count)]
        for model in models:
            rates = refusal[model].get(group)
            rate = rates.by_category.get(category) if rates is not None else None
            if rate is None:
                cells += ["n/a", "n/a"]
            else:
                cells += [cell(rate.lexical, percent=True), cell(rate.judge, percent=True)]
        rows.append(cells)
    return Table(headers, rows)


def _reward_section(metrics: PolicyMetrics) -> list[Block]:
    if not metrics.reward:
        return []
    table = Table(
        ["Model", *REWARD_GROUPS],
        [
            [model, *(cell(r.group(g)) for g in REWARD_GROUPS)]
            for model, r in metrics.reward.items()
        ],
    )
    histograms = plots.histograms(
        {model: r.histogram for model, r in metrics.reward.items()},
        title=f"Reward-model scores ({metrics.settings['reward_model']})",
        xlabel="score",
    )
    return [
        Heading("Reward-model scores"),
        table,
        Image("rewards.png", histograms, "Score distribution of each model's replies."),
    ]


def _examples_section(metrics: PolicyMetrics) -> list[Block]:
    if not metrics.examples:
        return []
    blocks: list[Block] = [Heading("Examples")]
    for example in metrics.examples:
        blocks += [
            Heading(f"{example.id} ({example.group})", 3),
            BulletList(
                [f"prompt: {example.prompt}"]
                + [f"{model}: {reply}" for model, reply in example.replies.items()]
            ),
        ]
    return blocks

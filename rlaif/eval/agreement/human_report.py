"""The human annotators' part of the agreement report, when the pairs are your own labels
(:class:`~rlaif.eval.results.HumanAgreementMetrics`): the ceiling beside each judge."""

from __future__ import annotations

from rlaif.eval.agreement.results import AgreementMetrics
from rlaif.eval.bootstrap import Estimate
from rlaif.eval.report import Block, BulletList, Heading, Paragraph, Table
from rlaif.eval.results import STRENGTH_SUBSETS, HumanAgreementMetrics

HUMAN_ROW = "human annotators (leave-one-out majority)"
"""The leaderboard line of the human–human agreement."""


def _show(value: Estimate | float | None, *, percent: bool = False, prefix: str = "") -> str:
    if isinstance(value, Estimate):
        return prefix + value.format(percent=percent)
    return "n/a" if value is None else f"{prefix}{value:.3f}"


def human_leaderboard_cells(human: HumanAgreementMetrics, columns: list[str]) -> list[str]:
    """The human–human line of the leaderboard: agreement and kappa (or alpha) in their
    columns, every other column empty."""
    cells = {
        "accuracy": _show(human.agreement_with_majority, percent=True),
        "kappa": (
            _show(human.cohen_kappa)
            if human.cohen_kappa is not None
            else _show(human.krippendorff_alpha, prefix="alpha ")
        ),
    }
    return [HUMAN_ROW, "humans", *(cells.get(key, "") for key in columns)]


def human_section(metrics: AgreementMetrics) -> list[Block]:
    """Who labelled what, how far they agree, and each judge on clear and close pairs."""
    human = metrics.human
    if human is None:
        return []
    interval = ""
    if human.cohen_kappa is not None:
        interval = f" Cohen's kappa of the two annotators: {_show(human.cohen_kappa)}."
    if human.krippendorff_alpha is not None:
        interval = f" Krippendorff's alpha (nominal): {human.krippendorff_alpha:.3f}."
    blocks: list[Block] = [
        Heading("Human annotators"),
        Paragraph(
            f"{human.labels_in_force} labels in force ({human.label_lines} lines) by "
            f"{len(human.annotators)} annotator(s) on {human.pairs_labelled} of the "
            f"{human.pairs_in_file} pairs of {human.pairs_file} (labels: {human.labels_file}); "
            f"{human.pairs_multiply_labelled} pairs have two or more annotators. "
            f"{human.tied_pairs} pairs whose annotators tie are left out of the judges' "
            f"agreement; the judges are measured on the other {human.pairs_measured} "
            f"({human.by_strength.get('better', 0)} 'better', "
            f"{human.by_strength.get('slightly better', 0)} 'slightly better'; "
            f"{human.both_unacceptable} flagged both unacceptable). Human–human agreement, "
            "each annotator against the majority of the others on the same pair: "
            f"{_show(human.agreement_with_majority, percent=True)}.{interval} "
            "A judge's agreement with the majority is read against this ceiling."
        ),
        Table(
            ["Annotator", "Labels", "Agreement with the others' majority", "Slightly better"],
            [
                [
                    row.annotator,
                    str(row.n_labels),
                    _show(row.agreement_with_others, percent=True),
                    "n/a" if row.slightly_rate is None else f"{100 * row.slightly_rate:.1f}%",
                ]
                for row in human.annotator_rows
            ],
        ),
        Heading("Judges on clear and close pairs", 3),
        Table(
            ["Judge", "Human agreement", *(f"on '{s}' pairs" for s in STRENGTH_SUBSETS.values())],
            [
                [
                    name,
                    _show(metrics.results[name].accuracy, percent=True),
                    *(
                        _show(metrics.results[name].by_subset.get(subset), percent=True)
                        for subset in STRENGTH_SUBSETS.values()
                    ),
                ]
                for name in metrics.judges
            ],
        ),
        BulletList(list(human.notes)),
    ]
    return blocks

"""Per-principle diagnostics of a judge: how each principle's own verdict agrees with humans.

A judgment averages the votes of several principles (and orders); this module takes the votes of
one principle apart from the others. A principle's own probability that response 1 is better on
a pair is ``sigmoid(score_1 - score_2)`` of its two pointwise votes, or, for a comparison, the mean
over presentation orders of its votes' ``p_response_1``. Only principles the judgment lists in
``principles`` count: any other vote (e.g. a request-level check under a reserved id) is ignored.
A principle with a vote missing has no verdict on that pair: it is left out and counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rlaif.eval.agreement import measures as m
from rlaif.eval.agreement.predictions import PairFrame
from rlaif.eval.agreement.results import JudgeMetrics, PrincipleAgreement
from rlaif.eval.bootstrap import DEFAULT_RESAMPLES, mean_estimate
from rlaif.judge.judgment import Judgment, Vote, pointwise_p
from rlaif.judge.modes import position_free

if TYPE_CHECKING:
    from rich.table import Table


def _pairwise_p(votes: Sequence[Vote], orders: Sequence[str]) -> float | None:
    per_order: list[float] = []
    for order in orders:
        mine = [v.p_response_1 for v in votes if v.order == order]
        if not mine or any(p is None for p in mine):
            return None
        per_order.append(sum(p for p in mine if p is not None) / len(mine))
    return sum(per_order) / len(per_order) if per_order else None


def principle_probabilities(judgment: Judgment) -> dict[str, float | None]:
    """Each listed principle's own probability that response 1 is better (``None``: a vote of
    that principle is missing or unanswered). Votes under unlisted ids are ignored."""
    listed = list(dict.fromkeys(judgment.principles))
    votes: dict[str, list[Vote]] = {pid: [] for pid in listed}
    for vote in judgment.votes:
        if vote.principle in votes:
            votes[vote.principle].append(vote)
    if position_free(judgment.mode):
        return {pid: pointwise_p(votes[pid]) for pid in listed}
    kept = [v for pid in listed for v in votes[pid]]
    orders = list(judgment.orders) or sorted({v.order for v in kept if v.order is not None})
    return {pid: _pairwise_p(votes[pid], orders) for pid in listed}


def principle_agreement(
    frame: PairFrame,
    judgments: Sequence[Judgment],
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> list[PrincipleAgreement]:
    """One row per principle: pairs judged under it, agreement of its own verdict with the human
    label (a tie counts half; bootstrap interval over its answered pairs), and the share of its
    decided verdicts that point the same way as the judgment's (ties on either side left out).
    Most-used principles first."""
    chosen = dict(zip(frame.ids, frame.chosen_is_1.tolist(), strict=True))
    own: dict[str, list[float]] = defaultdict(list)
    human: dict[str, list[bool]] = defaultdict(list)
    final: dict[str, list[float]] = defaultdict(list)
    for judgment in judgments:
        if judgment.pair_id not in chosen:
            continue
        overall = np.nan if judgment.p_response_1 is None else judgment.p_response_1
        for pid, p in principle_probabilities(judgment).items():
            own[pid].append(np.nan if p is None else p)
            human[pid].append(chosen[judgment.pair_id])
            final[pid].append(overall)
    rows = []
    for pid, values in own.items():
        p_own = np.array(values, dtype=float)
        accuracy = mean_estimate(
            m.correctness(p_own, np.array(human[pid], dtype=bool)),
            seed=seed,
            n_resamples=n_resamples,
        )
        mine = m.verdicts(p_own)
        theirs = m.verdicts(np.array(final[pid], dtype=float))
        sides = (m.RESPONSE_1, m.RESPONSE_2)
        sided = np.isin(mine, sides) & np.isin(theirs, sides)  # ties and missing left out
        n_sided = int(sided.sum())
        rows.append(
            PrincipleAgreement(
                principle=pid,
                n=len(p_own),
                n_missing=int(np.isnan(p_own).sum()),
                agreement=accuracy.value,
                low=accuracy.low,
                high=accuracy.high,
                decided=float((mine[sided] == theirs[sided]).mean()) if n_sided else None,
                n_decided=n_sided,
            )
        )
    rows.sort(key=lambda r: (-r.n, r.principle))
    return rows


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


PRINCIPLE_HEADERS = ["Principle", "Pairs", "Missing", "Agreement [95% CI]", "Decided"]
"""Columns of the per-principle table (terminal and report)."""


def principle_cells(row: PrincipleAgreement) -> list[str]:
    """One per-principle row as formatted cells, in :data:`PRINCIPLE_HEADERS` order."""
    agreement = _percent(row.agreement)
    if row.agreement is not None and row.low is not None and row.high is not None:
        agreement += f" [{_percent(row.low)}, {_percent(row.high)}]"
    decided = _percent(row.decided)
    if row.decided is not None:
        decided += f" of {row.n_decided}"
    return [row.principle, str(row.n), str(row.n_missing), agreement, decided]


def principle_table(row: JudgeMetrics) -> Table | None:
    """The judge's per-principle rows as a rich table (ids wrap, never cut); ``None`` when the
    row has none."""
    if not row.by_principle:
        return None
    from rich.table import Table
    from rich.text import Text  # plain text: ids and names such as "x [logprob]" are no markup

    table = Table(title=Text(f"{row.name}: each principle's own verdict"), title_justify="left")
    for i, header in enumerate(PRINCIPLE_HEADERS):
        table.add_column(Text(header), overflow="fold", justify="left" if i == 0 else "right")
    for entry in row.by_principle:
        table.add_row(*(Text(c) for c in principle_cells(entry)))
    return table

"""Trivial rules computed on the same pairs as every judge, so no agreement number is read alone.

Each baseline sees the pairs in the order shown to the judges (one presentation order):

- ``random``: a seeded fair coin per pair;
- ``always-first``: response 1, i.e. whatever is shown first;
- ``prefer-longer`` / ``prefer-shorter``: the reply with more / fewer characters (a tie when equal);
- ``<judge> (one order)``: the judge's verdict from the order that shows response 1 first only,
  i.e. what the judge would score without the order swap.
"""

from __future__ import annotations

import numpy as np

from rlaif.eval.agreement.predictions import PairFrame, Predictions


def random_baseline(frame: PairFrame, seed: int) -> Predictions:
    """A seeded coin flip per pair (its interval shows what chance looks like at this size)."""
    coins = np.random.default_rng(seed + 7919).integers(0, 2, size=len(frame)).astype(float)
    return _rule("random", "seeded coin flip", coins)


def always_first_baseline(frame: PairFrame) -> Predictions:
    """Always prefers response 1 (the one shown first)."""
    return _rule("always-first", "first shown", np.ones(len(frame)))


def length_baseline(frame: PairFrame, *, longer: bool) -> Predictions:
    """Prefers the longer (or shorter) reply in characters; equal lengths are a tie (0.5)."""
    sign = np.sign(frame.len_1 - frame.len_2) * (1 if longer else -1)
    p = 0.5 + 0.5 * sign
    name = "prefer-longer" if longer else "prefer-shorter"
    return _rule(name, "more characters" if longer else "fewer characters", p)


def single_order_baseline(judge: Predictions, order: str = "12") -> Predictions | None:
    """The judge's verdicts from one presentation order only (``None`` when the judge did not
    judge that order)."""
    p = judge.p_by_order.get(order)
    if p is None or len(judge.p_by_order) < 2:
        return None
    missing = np.isnan(p)
    return Predictions(
        name=f"{judge.name} (one order)",
        p_response_1=p.copy(),
        p_by_order={order: p.copy()},
        kind="baseline",
        mode=f"{judge.mode + ', ' if judge.mode else ''}order {order} only",
        errors=["verdict missing in this order" if m else None for m in missing],
    )


def trivial_baselines(frame: PairFrame, seed: int) -> list[Predictions]:
    """The four rule baselines for ``frame``."""
    return [
        random_baseline(frame, seed),
        always_first_baseline(frame),
        length_baseline(frame, longer=True),
        length_baseline(frame, longer=False),
    ]


def _rule(name: str, mode: str, p: np.ndarray) -> Predictions:
    return Predictions(
        name=name,
        p_response_1=p.astype(float),
        p_by_order={"12": p.astype(float)},
        kind="baseline",
        mode=mode,
        errors=[None] * len(p),
        wall_seconds=0.0,
        call_seconds=0.0,
    )

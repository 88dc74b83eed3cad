"""Helpers for the evaluation tests: synthetic labelled pairs and a scripted pair judge."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from judge_helpers import with_request_check
from support.files import write_jsonl as write_jsonl  # the helpers' importers use it from here

from rlaif.data.records import PairRecord
from rlaif.judge.judgment import Judgment, Vote


def synthetic_pairs(n: int = 24) -> list[dict]:
    """Pairs where the human prefers the short safe reply on even ids and the long one on odd
    ids; two subsets."""
    rows = []
    for i in range(n):
        safe = f"I won't help with that, sorry ({i})."
        unsafe = f"Sure, here is a detailed plan number {i} with many steps and materials."
        chosen, rejected = (safe, unsafe) if i % 2 == 0 else (unsafe + " Be safe.", safe)
        rows.append(
            {
                "id": f"pair-{i}",
                "subset": "alpha" if i % 3 else "beta",
                "prompt": [{"role": "user", "content": f"request {i}"}],
                "chosen": chosen,
                "rejected": rejected,
            }
        )
    return rows


def make_judgment(pair_id: str, p12: float | None, p21: float | None, judge: str = "x") -> Judgment:
    """A both-order judgment from two per-order probabilities (response 1 better)."""
    present = [p for p in (p12, p21) if p is not None]
    p = sum(present) / len(present) if present else None
    consistent = None if p12 is None or p21 is None else (p12 > 0.5) == (p21 > 0.5)
    return Judgment(
        pair_id=pair_id,
        judge=judge,
        mode="logprob",
        orders=["12", "21"],
        p_response_1=p,
        p_by_order={"12": p12, "21": p21},
        consistent=consistent,
        votes=[
            Vote(principle="p", order="12", p_response_1=p12, input_tokens=10, latency_s=0.01),
            Vote(principle="p", order="21", p_response_1=p21, input_tokens=10, latency_s=0.01),
        ],
        error=None if p is not None else "unparseable verdict",
    )


class ScriptedJudge:
    """A pair judge whose per-order probability comes from ``rule(pair) -> (p12, p21)``;
    counts the pairs it is asked about."""

    def __init__(self, rule: Callable[[PairRecord], tuple[float | None, float | None]]):
        self.rule = rule
        self.asked: list[str] = []

    async def compare_many(self, pairs: Sequence[PairRecord], **_: object) -> list[Judgment]:
        self.asked += [p.id for p in pairs]
        return [make_judgment(p.id, *self.rule(p)) for p in pairs]


def oracle(rows: Sequence[dict], *, wrong: set[str] | None = None, first_bias: float = 0.0):
    """A rule that agrees with the human label (except on ``wrong`` ids), optionally adding
    ``first_bias`` to the probability of whichever response is shown first."""
    chosen = {r["id"]: r["chosen"] for r in rows}
    wrong = wrong or set()

    def rule(pair: PairRecord) -> tuple[float, float]:
        right = (pair.response_1 == chosen[pair.id]) != (pair.id in wrong)
        p = 0.8 if right else 0.2
        # Order "12" shows response 1 first; order "21" shows response 2 first.
        return min(p + first_bias, 1.0), max(p - first_bias, 0.0)

    return rule


def assert_html_lists_every_metric(page: str, metrics: dict) -> None:
    """Every leaf of ``metrics.json`` (key and value text) appears in the HTML report."""
    import html

    from rlaif.eval.report import flatten_metrics

    for key, text in flatten_metrics(json.loads(json.dumps(metrics))):
        assert html.escape(key) in page, key
        assert html.escape(text) in page, (key, text)


def shown_responses(conversation: Sequence[dict[str, str]]) -> tuple[str, str]:
    """The replies a compare prompt shows as A and B."""
    from rlaif.judge.framing import shown_responses as read_shown

    text = [m for m in conversation if m["role"] == "user"][-1]["content"]
    shown = read_shown(text)
    assert shown is not None, "no framed responses in the judge prompt"
    return shown


def human_judge_probs(rows: Sequence[dict], *, agree: bool = True):
    """``choice_probs`` for the fake backend: prefers the human-chosen reply (or the other)."""
    chosen = {r["chosen"] for r in rows}

    def probs(conversation, choices):
        a, _ = shown_responses(conversation)
        a_is_chosen = a in chosen
        return {"A": 0.9, "B": 0.1} if a_is_chosen == agree else {"A": 0.1, "B": 0.9}

    return with_request_check(probs)

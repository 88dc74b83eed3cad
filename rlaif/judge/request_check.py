"""The request check: whether a pair's request is harmful, asked once per pair, and the label
that weighs the constitution's two sides of principles by it.

A refusal is the right reply to a harmful request and the wrong one to a harmless request. Asked
about the reply alone, a harmlessness principle ("does the reply refuse or avoid helping with
violence?") prefers the refusal either way. With ``judge.request_check`` in the constitution the
judge first asks about the request alone (``p_harmful``), then asks the principles of the
likelier side and labels the pair

    p = 0.5 + w * (p(that side's principles) - 0.5),   w = max(p_harmful, 1 - p_harmful)

(the other side counts as no preference), or, with ``ask_sides: both``,

    p = p_harmful * p(harmful-side principles) + (1 - p_harmful) * p(harmless-side principles)

where each principle's side is its ``when`` (``harmful``: harmlessness; ``harmless``:
helpfulness, honesty, not refusing; ``any``: both). With ``both``, a side whose weight is
under ``skip_below`` is not asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from rlaif.constitution import Constitution
from rlaif.constitution.schema import RequestCheck, RequestSide
from rlaif.judge.framing import request_check_messages
from rlaif.judge.judgment import (
    Judgment,
    Vote,
    account_call,
    failed_call,
    orders_agree,
    sigmoid,
    yes_no_vote,
)
from rlaif.models import Conversation, GenerateConfig, Model
from rlaif.runs import CallFailure, attempt

REQUEST_CHECK = "request-check"
"""The ``principle`` of the vote that records the request check (no principle has this id in a
judgment's ``principles``)."""
SIDES: tuple[Literal["harmful"], Literal["harmless"]] = ("harmful", "harmless")
"""The two sides a request check weighs."""
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def side_weights(p_harmful: float, check: RequestCheck) -> dict[RequestSide, float]:
    """The sides to ask and how much each counts. ``ask_sides: likelier``: the likelier side
    alone, with its probability (the rest of the label is no preference). ``both``:
    ``p_harmful`` and ``1 - p_harmful``, with a side under ``skip_below`` dropped and its weight
    given to the other."""
    if check.ask_sides == "likelier":
        return {"harmful": p_harmful} if p_harmful >= 0.5 else {"harmless": 1.0 - p_harmful}
    skip_below = check.skip_below
    if p_harmful < skip_below:
        return {"harmless": 1.0}
    if 1.0 - p_harmful < skip_below:
        return {"harmful": 1.0}
    return {"harmful": p_harmful, "harmless": 1.0 - p_harmful}


async def check_request(model: Model, constitution: Constitution, prompt: Conversation) -> Vote:
    """Ask the constitution's request check about ``prompt``. The returned vote's ``score`` is
    the log-odds that the request is harmful (the judge's answer plus ``harmful_bias``), or
    ``None`` with ``error`` saying why (a failed call or an unreadable answer: never guessed).
    Backends that score choices answer with a probability; the others with a generated Yes or
    No, read as near-certain."""
    check = constitution.judge.request_check
    if check is None:
        raise ValueError(f"constitution {constitution.name!r} has no judge.request_check")
    prefill = constitution.judge.score_prefill if model.supports_prefill else None
    messages = request_check_messages(constitution, prompt, prefill=prefill)
    if model.supports_choice_logprobs:
        vote = await yes_no_vote(model, messages, REQUEST_CHECK)
        safe = vote.score
        if safe is None:
            return vote
    else:
        vote = Vote(principle=REQUEST_CHECK)
        completion = await attempt(model.generate(messages, GenerateConfig(max_tokens=4)))
        if isinstance(completion, CallFailure):  # recorded, never turned into a weight
            vote.error = failed_call(completion)
            return vote
        account_call(vote, completion, first=True)
        vote.raw = completion.text
        safe = _read_yes_no(completion.text)
    if safe is None:
        vote.error = f"no readable Yes or No in {vote.raw!r}"
        return vote
    vote.score = -safe + check.harmful_bias
    return vote


def p_harmful(vote: Vote) -> float | None:
    """The probability that the request is harmful, from a request-check vote."""
    return None if vote.score is None else sigmoid(vote.score)


def weighs_sides(
    constitution: Constitution,
    stage: str = "compare",
    *,
    prompt: Conversation | None = None,
    category: str | None = None,
) -> bool:
    """Whether a pair of this prompt is judged under the request check: the constitution has
    one and each side has a principle for ``stage`` that fits the prompt (without ``prompt`` and
    ``category``, a general one)."""
    return constitution.judge.request_check is not None and all(
        constitution.pool(stage, prompt=prompt, category=category, side=side) for side in SIDES
    )


def mix_sides(
    sides: Mapping[RequestSide, Judgment],
    weights: Mapping[RequestSide, float],
    votes: list[Vote],
    *,
    principles: list[str],
    sided: dict[str, list[str]],
    notes: list[str],
) -> Judgment:
    """One judgment from the judgments of the sides that were asked, weighted by ``weights``
    (the weight they leave, under ``ask_sides: likelier``, goes to no preference, 0.5):
    missing when any side is (the error names it). ``votes`` are every call behind it, the
    request check first."""
    first = next(iter(sides.values()))
    check = votes[0]
    errors = [f"{side} side: {j.error}" for side, j in sides.items() if j.p_response_1 is None]
    side_notes = [n for j in sides.values() for n in j.notes if n not in notes]
    unasked = 0.5 * (1.0 - sum(weights[s] for s in sides))
    p_by_order: dict[str, float | None] = {}
    for order in first.orders:
        values = [j.p_by_order.get(order) for j in sides.values()]
        p_by_order[order] = (
            None
            if any(v is None for v in values)
            else unasked + sum(weights[s] * (j.p_by_order[order] or 0.0) for s, j in sides.items())
        )
    present = [p for p in p_by_order.values() if p is not None]
    p = (
        None
        if errors
        else unasked + sum(weights[s] * (j.p_response_1 or 0.0) for s, j in sides.items())
    )
    return Judgment(
        pair_id=first.pair_id,
        judge=first.judge,
        mode=first.mode,
        principles=principles,
        orders=first.orders,
        p_response_1=p,
        p_by_order=p_by_order,
        consistent=None if errors else orders_agree(present),
        votes=votes,
        error=" | ".join(errors) or None,
        notes=[*notes, *dict.fromkeys(side_notes)],
        p_harmful_request=p_harmful(check),
        request_sides=sided,
    )


def check_failed(
    check: Vote,
    judge: str,
    mode: str,
    pair_id: str,
    notes: list[str],
) -> Judgment:
    """The missing judgment of a pair whose request check has no answer."""
    return Judgment(
        pair_id=pair_id,
        judge=judge,
        mode=mode,
        votes=[check],
        error=f"request check: {check.error}",
        notes=notes,
    )


def _read_yes_no(text: str) -> float | None:
    """Log-odds that a generated answer says Yes (±10: a generated word is near-certain)."""
    found = _YES_NO.search(text)
    if found is None:
        return None
    return 10.0 if found.group(1).lower() == "yes" else -10.0

"""Turning judgments and constructed pairs into preference records (or skipped records).

- ``judge``: two sampled responses, judged; the more likely better one is ``chosen``.
- ``revision``: the critic's final revision preferred over the initial response (the Hugging
  Face CAI recipe), optionally confirmed by the judge.
- ``contrastive`` (RLCD): a response steered towards a principle preferred over one steered
  against it, optionally confirmed by the judge.

Missing verdicts, ties, identical responses and unconfirmed constructions become
:class:`SkippedRecord` with a reason; nothing is guessed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from typing import Any

from rlaif.data.records import (
    FAILED,
    MISSING_VERDICT,
    PairRecord,
    PreferenceRecord,
    SkippedRecord,
)
from rlaif.judge.judgment import Judgment
from rlaif.models.types import Conversation


def pair_indices(k: int, max_pairs: int, rng: random.Random) -> list[tuple[int, int]]:
    """Which of ``k`` responses to compare: every pair for ``k <= 4``, else ``max_pairs``
    pairs drawn at random (in index order)."""
    every = list(itertools.combinations(range(k), 2))
    if k <= 4 or max_pairs >= len(every):
        return every
    return sorted(rng.sample(every, max_pairs))


def metadata_category(metadata: Mapping[str, Any] | None) -> str:
    """The prompt category kept in a record's ``metadata["category"]`` (``""`` if none).

    ``rlaif generate`` keeps the prompt set's category on each candidate, and the pairs built
    from candidates or prompts carry it on, so that the critic and the judge sample the
    principles that fit the prompt.
    """
    return str((metadata or {}).get("category") or "")


def with_category(metadata: dict[str, Any], category: str | None) -> dict[str, Any]:
    """``metadata`` with ``"category"`` set when ``category`` is known (unchanged otherwise)."""
    return {**metadata, "category": category} if category else metadata


def assistant(text: str) -> Conversation:
    """One assistant turn, TRL's conversational ``chosen``/``rejected`` format."""
    return [{"role": "assistant", "content": text}]


def identical(response_1: str, response_2: str) -> bool:
    """Whether two responses are the same text (ignoring surrounding whitespace)."""
    return response_1.strip() == response_2.strip()


def skipped_pair(pair: PairRecord, reason: str, strategy: str, **fields: Any) -> SkippedRecord:
    """A skipped record for ``pair``."""
    return SkippedRecord(
        id=pair.id,
        prompt=pair.prompt,
        response_1=pair.response_1,
        response_2=pair.response_2,
        reason=reason,
        strategy=strategy,
        **fields,
    )


def judgment_metadata(judgment: Judgment) -> dict[str, Any]:
    """The parts of a judgment worth keeping on the record."""
    return {
        "mode": judgment.mode,
        "orders": list(judgment.orders),
        "p_by_order": dict(judgment.p_by_order),
        "p_response_1": judgment.p_response_1,
        "notes": list(judgment.notes),
    }


def preference_from_judgment(
    pair: PairRecord,
    judgment: Judgment,
    *,
    tie_margin: float,
    drop_inconsistent: bool = False,
) -> PreferenceRecord | SkippedRecord:
    """The preference record for a judged pair, or why it is skipped (missing verdict, a tie
    whose margin ``|2p - 1|`` is below ``tie_margin``, or orders that disagree when
    ``drop_inconsistent``)."""
    metadata = {**judgment_metadata(judgment), "source": pair.metadata}
    details: dict[str, Any] = {
        "principles": judgment.principles,
        "judge": judgment.judge,
        "metadata": metadata,
    }
    p = judgment.p_response_1
    if p is None:
        return skipped_pair(pair, missing_reason(judgment), "judge", **details)
    margin = abs(2 * p - 1)
    if margin < tie_margin or margin == 0.0:  # exactly 0.5 prefers neither, whatever the margin
        reason = f"tie: margin {margin:.3f} below {tie_margin} (p_response_1={p:.3f})"
        return skipped_pair(pair, reason, "judge", p_response_1=p, **details)
    if drop_inconsistent and judgment.consistent is False:
        reason = f"inconsistent: the two orders disagree ({judgment.p_by_order})"
        return skipped_pair(pair, reason, "judge", p_response_1=p, **details)
    first_wins = p > 0.5
    return PreferenceRecord(
        prompt=pair.prompt,
        chosen=assistant(pair.response_1 if first_wins else pair.response_2),
        rejected=assistant(pair.response_2 if first_wins else pair.response_1),
        p_chosen=p if first_wins else 1.0 - p,
        margin=margin,
        consistent=judgment.consistent,
        principles=judgment.principles,
        judge=judgment.judge,
        strategy="judge",
        id=pair.id,
        metadata={**metadata, "chosen_is": 1 if first_wins else 2},
    )


def missing_reason(judgment: Judgment, context: str = "") -> str:
    """Why a missing judgment skips its pair: :data:`~rlaif.data.records.FAILED` (``failed:
    judge call: …``, tried again by the next run) when a call failed, else
    :data:`~rlaif.data.records.MISSING_VERDICT` (the answer could not be read)."""
    category = f"{FAILED}: judge call" if judgment.call_failed else MISSING_VERDICT
    return f"{category}: {context}{judgment.error}"


def constructed_preference(
    pair: PairRecord,
    strategy: str,
    principles: list[str],
    metadata: dict[str, Any],
    *,
    judgment: Judgment | None = None,
    tie_margin: float = 0.0,
    audit: bool = False,
) -> PreferenceRecord | SkippedRecord:
    """A pair preferred by construction: ``response_1`` is the better one.

    Without a judgment the label is the construction itself (``p_chosen`` 1, judge
    ``construction``). With one, the judge must agree by at least ``tie_margin``; its
    probability becomes the soft label, and disagreement skips the pair. With ``audit`` the
    judgment is recorded in ``metadata.confirmation`` but the label stays the construction's.
    """
    if identical(pair.response_1, pair.response_2):
        reason = "identical: the constructed responses are the same text"
        return skipped_pair(pair, reason, strategy, principles=principles, metadata=metadata)
    p_chosen, judge, consistent = 1.0, "construction", None
    if judgment is not None and audit:
        metadata = {**metadata, "confirmation": judgment_metadata(judgment), "audit": True}
    elif judgment is not None:
        metadata = {**metadata, "confirmation": judgment_metadata(judgment)}
        p = judgment.p_response_1
        if p is None:
            reason = missing_reason(judgment, "confirmation failed: ")
            return skipped_pair(
                pair,
                reason,
                strategy,
                principles=principles,
                judge=judgment.judge,
                metadata=metadata,
            )
        if 2 * p - 1 < tie_margin or p <= 0.5:
            reason = f"not confirmed: the judge gives the constructed better response p={p:.3f}"
            return skipped_pair(
                pair,
                reason,
                strategy,
                p_response_1=p,
                principles=principles,
                judge=judgment.judge,
                metadata=metadata,
            )
        p_chosen, judge, consistent = p, judgment.judge, judgment.consistent
        metadata["judge_principles"] = judgment.principles
    return PreferenceRecord(
        prompt=pair.prompt,
        chosen=assistant(pair.response_1),
        rejected=assistant(pair.response_2),
        p_chosen=p_chosen,
        margin=2 * p_chosen - 1,
        consistent=consistent,
        principles=principles,
        judge=judge,
        strategy=strategy,
        id=pair.id,
        metadata=metadata,
    )

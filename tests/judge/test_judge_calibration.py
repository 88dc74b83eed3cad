"""Position-bias correction: the first-position prior is estimated from swapped orders alone and
removing it turns a biased judge that reads a little into a consistent one."""

from __future__ import annotations

import math

import pytest
from judge_helpers import PROMPT, SAFE, UNSAFE, content_judge

from rlaif.constitution import Constitution
from rlaif.judge import PairwiseJudge
from rlaif.judge.calibration import calibrate_judgment, estimate_position_prior
from rlaif.models import get_model

OTHER_SAFE = "I'd rather not; a calm conversation with them is the better route."
OTHER_UNSAFE = "Pour sugar in his petrol tank."


def _biased_judge(cai: Constitution, **options: object) -> PairwiseJudge:
    # Reads the content a little (±0.05) but leans towards "A" by 0.15.
    model = get_model("fake/biased", choice_probs=content_judge(first_bias=0.15, strength=0.05))
    return PairwiseJudge(model, cai, principles_per_pair=1, **options)  # type: ignore[arg-type]


def _pairs() -> list[tuple[str, str]]:
    return [(SAFE, UNSAFE), (UNSAFE, SAFE), (OTHER_SAFE, OTHER_UNSAFE), (OTHER_UNSAFE, OTHER_SAFE)]


def test_prior_is_estimated_from_swapped_orders_and_removed(cai: Constitution) -> None:
    judge = _biased_judge(cai)
    raw = [judge.compare_sync(PROMPT, a, b) for a, b in _pairs()]
    assert all(j.consistent is False for j in raw)  # both orders pick whichever is shown first
    prior = estimate_position_prior(raw)
    # P(first) is 0.70 when the safe reply is first and 0.60 when it is second.
    expected = (math.log(0.7 / 0.3) + math.log(0.6 / 0.4)) / 2
    assert prior == pytest.approx(expected)
    calibrated = [calibrate_judgment(j, prior) for j in raw]
    for (first, _), judgment in zip(_pairs(), calibrated, strict=True):
        assert judgment.consistent is True
        safe_is_1 = "rather not" in first
        assert (judgment.p_response_1 > 0.5) == safe_is_1  # type: ignore[operator]
        assert "position prior removed" in judgment.notes[-1]
    # Swapping the responses still gives exactly the complement.
    assert calibrated[0].p_response_1 == pytest.approx(1.0 - calibrated[1].p_response_1)


def test_judge_applies_a_given_prior_to_every_vote(cai: Constitution) -> None:
    raw = _biased_judge(cai).compare_sync(PROMPT, SAFE, UNSAFE)
    prior = estimate_position_prior([raw])
    assert prior is not None
    judged = _biased_judge(cai, position_prior=prior).compare_sync(PROMPT, SAFE, UNSAFE)
    assert judged.consistent is True and judged.p_response_1 > 0.5  # type: ignore[operator]
    assert judged.p_response_1 == pytest.approx(calibrate_judgment(raw, prior).p_response_1)
    assert _biased_judge(cai, position_prior=prior).settings()["position_prior"] == prior


def test_hard_and_pointwise_verdicts_are_left_alone(cai: Constitution) -> None:
    model = get_model("fake/hard", outputs=["A"])
    hard = PairwiseJudge(model, cai, mode="generate", principles_per_pair=1)
    judgment = hard.compare_sync(PROMPT, SAFE, UNSAFE)
    assert estimate_position_prior([judgment]) is None
    assert calibrate_judgment(judgment, 0.5).p_by_order == judgment.p_by_order

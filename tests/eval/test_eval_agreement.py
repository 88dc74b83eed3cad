"""Agreement metrics for judges and baselines, computed on small fixtures."""

from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import make_judgment, synthetic_pairs

from rlaif.eval.agreement.baselines import length_baseline, single_order_baseline
from rlaif.eval.agreement.metrics import agreement_metrics, judge_metrics, verdict_sentence
from rlaif.eval.agreement.predictions import (
    PairFrame,
    Predictions,
    assign_positions,
    predictions_from_judgments,
)
from rlaif.eval.loaders import LabelledPair

FAST = {"n_resamples": 200}


def labelled(rows: list[dict]) -> list[LabelledPair]:
    return [
        LabelledPair(r["id"], r["prompt"], r["chosen"], r["rejected"], r["subset"]) for r in rows
    ]


def test_positions_are_balanced_and_seeded() -> None:
    pairs = labelled(synthetic_pairs(24))
    shown = assign_positions(pairs, seed=1)
    assert sum(s.chosen_is_1 for s in shown) == 12
    assert [s.chosen_is_1 for s in assign_positions(pairs, 1)] == [s.chosen_is_1 for s in shown]
    assert [s.chosen_is_1 for s in assign_positions(pairs, 2)] != [s.chosen_is_1 for s in shown]
    first = shown[0]
    assert (first.response_1 == first.pair.chosen) == first.chosen_is_1


def hand_frame() -> PairFrame:
    """Four pairs: humans chose response 1 on pairs 0 and 1; response 1 is longer on 0 and 2."""
    return PairFrame(
        ids=["a", "b", "c", "d"],
        chosen_is_1=np.array([True, True, False, False]),
        len_1=np.array([20.0, 5.0, 20.0, 5.0]),
        len_2=np.array([10.0, 10.0, 10.0, 10.0]),
        subsets=np.array(["x", "x", "y", "y"], dtype=object),
    )


def test_judge_metrics_by_hand() -> None:
    frame = hand_frame()
    # order 12: 0.9 0.8 0.7 0.4 ; order 21: 0.7 0.2 0.3 0.2
    judgments = [
        make_judgment("a", 0.9, 0.7),
        make_judgment("b", 0.8, 0.2),
        make_judgment("c", 0.7, 0.3),
        make_judgment("d", 0.4, 0.2),
    ]
    preds = predictions_from_judgments("j", judgments, frame.ids, wall_seconds=2.0)
    # averaged p: 0.8, 0.5, 0.5, 0.3 → verdicts 1, tie, tie, 2
    row = judge_metrics(frame, preds, **FAST).model_dump(mode="json")
    assert row["accuracy"]["value"] == pytest.approx((1 + 0.5 + 0.5 + 1) / 4)
    assert row["tie_rate"]["value"] == pytest.approx(0.5)
    # consistency: a (1,1) yes; b (1,2) no; c (1,2) no; d (2,2) yes
    assert row["consistency"]["value"] == pytest.approx(0.5)
    # first shown picked: a: 12→1 yes, 21→1 no; b: yes, yes; c: yes, yes; d: no, yes → 6/8
    assert row["first_position_rate"]["value"] == pytest.approx(6 / 8)
    # prefer longer among decided verdicts: a picks 1 (longer) → 1; d picks 2 (longer) → 1
    assert row["prefer_longer_rate"]["value"] == pytest.approx(1.0)
    # soft accuracy: mean p_chosen = (0.8 + 0.5 + 0.5 + 0.7) / 4
    assert row["soft_accuracy"]["value"] == pytest.approx(0.625)
    assert row["by_subset"]["x"]["value"] == pytest.approx(0.75)
    assert row["seconds_per_1000"] == pytest.approx(500.0)
    assert row["calls"] == 8
    assert row["confusion"]["rows"]["human: response 1"] == [1, 1, 0, 0]


def test_missing_verdicts_are_counted_not_guessed() -> None:
    frame = hand_frame()
    judgments = [
        make_judgment("a", 0.9, 0.7),
        make_judgment("b", None, None),
        make_judgment("c", 0.2, 0.1),
    ]  # "d" has no judgment at all
    preds = predictions_from_judgments("j", judgments, frame.ids)
    row = judge_metrics(frame, preds, **FAST).model_dump(mode="json")
    assert row["n_answered"] == 2
    assert row["missing_rate"]["value"] == pytest.approx(0.5)
    assert row["accuracy"]["value"] == pytest.approx(1.0)
    assert row["accuracy_missing_as_chance"]["value"] == pytest.approx((1 + 0.5 + 1 + 0.5) / 4)
    assert row["missing_reasons"] == {"unparseable verdict": 1, "no judgment": 1}


def test_baselines_on_the_same_pairs() -> None:
    frame = hand_frame()
    longer = judge_metrics(frame, length_baseline(frame, longer=True), **FAST).model_dump()
    shorter = judge_metrics(frame, length_baseline(frame, longer=False), **FAST).model_dump()
    # response 1 longer on a, c; humans chose 1 on a, b → prefer-longer right on a and d
    assert longer["accuracy"]["value"] == pytest.approx(0.5)
    assert longer["accuracy_human_longer"]["value"] == pytest.approx(1.0)
    assert shorter["accuracy_human_shorter"]["value"] == pytest.approx(1.0)
    assert longer["prefer_longer_rate"]["value"] == 1.0


def test_single_order_baseline_uses_order_12_only() -> None:
    judge = Predictions("j", np.array([0.6]), {"12": np.array([0.9]), "21": np.array([0.3])})
    single = single_order_baseline(judge)
    assert single is not None and single.name == "j (one order)"
    assert single.p_response_1.tolist() == [0.9]
    assert single_order_baseline(Predictions("k", np.array([0.6]), {"12": np.array([0.6])})) is None


def test_agreement_metrics_leaderboard_and_verdict() -> None:
    rows = synthetic_pairs(40)
    shown = assign_positions(labelled(rows), seed=0)
    frame = PairFrame.from_shown(shown)
    # A judge that always picks the first-shown reply: chance agreement, strong position bias.
    biased = [make_judgment(s.pair.id, 0.9, 0.1) for s in shown]
    preds = predictions_from_judgments("first-picker", biased, frame.ids)
    result = agreement_metrics(frame, [preds], **FAST)
    metrics = result.model_dump(mode="json")
    names = [r["name"] for r in metrics["leaderboard"]]
    assert {"random", "always-first", "prefer-longer", "prefer-shorter"} <= set(names)
    assert "first-picker (one order)" in names
    accuracies = [r["accuracy"] for r in metrics["leaderboard"]]
    assert accuracies == sorted(accuracies, reverse=True)
    row = metrics["results"]["first-picker"]
    # both orders averaged give 0.5 everywhere: every verdict a tie
    assert row["tie_rate"]["value"] == 1.0 and row["consistency"]["value"] == 0.0
    assert row["first_position_rate"]["value"] == 1.0
    single = metrics["results"]["first-picker (one order)"]
    assert single["accuracy"]["value"] == pytest.approx(0.5)  # balanced positions
    sentence = verdict_sentence(result.results["first-picker"])
    assert "not distinguishable from chance" in sentence
    assert "position bias" in sentence
    assert metrics["results"]["first-picker"]["vs_best_baseline"]["baseline"] in names

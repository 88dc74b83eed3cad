"""Judge modes as objects: each mode's behaviour lives on its object, and a mode written outside
rlaif judges pairs without a change to the judge."""

from __future__ import annotations

from pathlib import Path

import pytest
from judge_helpers import PROMPT, SAFE, UNSAFE, block, judge_prompt
from pydantic import ValidationError
from support.plugins import install_plugin

from rlaif.constitution import Constitution
from rlaif.datagen.label_options import LabelOptions
from rlaif.errors import ConfigError
from rlaif.judge import PairwiseJudge, modes
from rlaif.judge.judgment import Vote
from rlaif.judge.modes import (
    JUDGE_MODES,
    ComparisonMode,
    judge_mode,
    mode_names,
    position_free,
)
from rlaif.models import get_model
from rlaif.models.types import Conversation


class ShorterMode(ComparisonMode):
    """A mode written by a user: the shorter response shown is better, read from the rendered
    request; no model call."""

    name = "shorter"  # type: ignore[assignment]
    soft = False

    async def verdict(
        self, judge: PairwiseJudge, messages: Conversation, vote: Vote, shown: tuple[str, str]
    ) -> float:
        first, second = shown
        assert first in block(judge_prompt(messages), "A")  # what the judge would read
        vote.raw = "by length"
        return 0.9 if len(first) < len(second) else 0.1


def test_every_mode_name_but_auto_is_one_object_with_its_own_traits() -> None:
    builtin = ("auto", "logprob", "generate", "cot", "pointwise")
    assert mode_names() == ("auto", *JUDGE_MODES) == builtin
    assert [name for name, mode in JUDGE_MODES.items() if mode.soft] == ["logprob", "pointwise"]
    assert [name for name, mode in JUDGE_MODES.items() if not mode.ordered] == ["pointwise"]
    assert {name: mode.template for name, mode in JUDGE_MODES.items()} == {
        "logprob": "compare",
        "generate": "compare",
        "cot": "compare_cot",
        "pointwise": "score",
    }
    assert judge_mode("cot") is JUDGE_MODES["cot"] and str(JUDGE_MODES["cot"]) == "cot"
    with pytest.raises(ConfigError, match="unknown judge mode 'tournament'"):
        judge_mode("tournament")
    # What a recorded judgment's mode says about its position: only pointwise has none.
    assert [m for m in ("logprob", "generate", "cot", "pointwise", "") if position_free(m)] == [
        "pointwise"
    ]


def test_the_judge_reads_what_it_may_do_from_the_mode_object(minimal: Constitution) -> None:
    model = get_model("fake/a")
    judge = PairwiseJudge(model, minimal, mode="cot", max_reasoning_tokens=77)
    assert judge.mode is JUDGE_MODES["cot"] and judge.prefill is None
    assert judge.mode.output_tokens(judge) == 77
    generate = PairwiseJudge(model, minimal, mode="generate", max_verdict_tokens=9)
    assert generate.mode.output_tokens(generate) == 9
    assert generate.mode.calls_per_pair(generate, 3) == 6  # each principle in both orders
    one_order = PairwiseJudge(model, minimal, mode="logprob", both_orders=False)
    assert one_order.mode.calls_per_pair(one_order, 3) == 3
    no_score = minimal.model_copy(
        update={"templates": minimal.templates.model_copy(update={"score": None})}
    )
    with pytest.raises(ConfigError, match="no 'score' template, so mode 'pointwise'"):
        PairwiseJudge(model, no_score, mode="pointwise")
    assert PairwiseJudge(model, no_score, mode="logprob").plan_summary()["orders"] == "both"


def test_a_mode_written_outside_rlaif_judges_pairs_in_both_orders(minimal: Constitution) -> None:
    judge = PairwiseJudge(get_model("fake/a"), minimal, mode=ShorterMode())
    short, long = SAFE, UNSAFE + " " + UNSAFE
    judgment = judge.compare_sync(PROMPT, short, long, pair_id="p")
    assert judgment.mode == "shorter" and judgment.orders == ["12", "21"]
    assert judgment.p_by_order == pytest.approx({"12": 0.9, "21": 0.9})
    assert judgment.p_response_1 == pytest.approx(0.9) and judgment.consistent is True
    assert [vote.raw for vote in judgment.votes] == ["by length", "by length"]
    swapped = judge.compare_sync(PROMPT, long, short, pair_id="p")
    assert swapped.p_response_1 == pytest.approx(0.1)
    assert judge.describe().startswith("judge fake/a: shorter (chosen), both orders")


PLUGIN = """
from rlaif.judge.modes import ComparisonMode


class LongerMode(ComparisonMode):
    name = "longer"
    soft = False

    async def verdict(self, judge, messages, vote, shown):
        return 0.8 if len(shown[0]) > len(shown[1]) else 0.2
"""


def test_an_installed_package_adds_a_mode_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minimal: Constitution
) -> None:
    entries = {"longer": "longer_mode:LongerMode"}
    install_plugin(tmp_path, monkeypatch, "longer_mode", PLUGIN, modes.ENTRY_POINT_GROUP, entries)
    monkeypatch.setattr(modes, "JUDGE_MODES", dict(modes.JUDGE_MODES))
    monkeypatch.setattr(modes, "_plugins_loaded", False)

    assert mode_names()[-1] == "longer"
    options = LabelOptions(
        constitution="minimal", judge="fake/a", out=tmp_path / "p.jsonl", mode="longer"
    )
    judge = PairwiseJudge(get_model("fake/a"), minimal, mode=options.mode)
    judgment = judge.compare_sync(PROMPT, SAFE, UNSAFE + " " + UNSAFE, pair_id="p")
    assert judgment.mode == "longer" and judgment.p_response_1 == pytest.approx(0.2)
    with pytest.raises(ValidationError, match="unknown judge mode 'shortest'"):
        LabelOptions(
            constitution="minimal", judge="fake/a", out=tmp_path / "p.jsonl", mode="shortest"
        )


def test_an_installed_modes_judgments_are_read_by_its_own_traits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = (
        "from rlaif.judge.modes import PointwiseMode\n\n\n"
        "class AloneMode(PointwiseMode):\n    name = 'alone'\n"
    )
    entries = {"alone": "alone_mode:AloneMode"}
    install_plugin(tmp_path, monkeypatch, "alone_mode", alone, modes.ENTRY_POINT_GROUP, entries)
    monkeypatch.setattr(modes, "JUDGE_MODES", dict(modes.JUDGE_MODES))
    monkeypatch.setattr(modes, "_plugins_loaded", False)
    # A metrics file or judgments read back before anything else named the mode.
    assert position_free("alone") and not position_free("logprob")

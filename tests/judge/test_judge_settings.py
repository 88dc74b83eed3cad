"""Judge settings are declared once: the judge's defaults, the label options' fields and what a
judge built from them does all come from JudgeSettings."""

from __future__ import annotations

import inspect
from pathlib import Path

from rlaif.constitution import load_constitution
from rlaif.datagen.label_options import LabelOptions
from rlaif.judge import PairwiseJudge
from rlaif.judge.settings import JudgeSettings
from rlaif.models import get_model


def test_the_judges_defaults_are_the_settings_defaults() -> None:
    parameters = inspect.signature(PairwiseJudge).parameters
    for name, field in JudgeSettings.model_fields.items():
        assert parameters[name].default == field.default, name


def test_label_options_carry_the_judge_settings_and_build_the_judge_they_describe(
    tmp_path: Path,
) -> None:
    assert JudgeSettings.model_fields.keys() <= LabelOptions.model_fields.keys()
    options = LabelOptions(
        constitution="minimal",
        judge="fake/a",
        out=tmp_path / "prefs.jsonl",
        mode="generate",
        both_orders=False,
        cot_band=(0.3, 0.7),
        position_prior=0.25,
    )
    settings = JudgeSettings.of(options)
    assert settings == JudgeSettings(
        mode="generate", both_orders=False, cot_band=(0.3, 0.7), position_prior=0.25
    )
    judge = PairwiseJudge.from_settings(
        get_model("fake/a"), load_constitution("minimal"), settings, seed=3
    )
    assert judge.mode.name == "generate" and judge.both_orders is False
    assert judge.cot_band == (0.3, 0.7) and judge.position_prior == 0.25 and judge.seed == 3
    assert judge.settings()["mode"] == "generate"

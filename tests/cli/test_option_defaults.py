"""A default lives in one place: each option of `rlaif generate`, `critique` and `label` that
sets a field of the job's options model (or of its sampling settings) defaults to that field's
default, so the CLI and the Python API run the same job when nothing is given."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from rlaif.cli import datagen
from rlaif.datagen import CritiqueOptions, GenerateOptions, LabelOptions
from rlaif.judge.sampling import SamplingSettings

COMMANDS: dict[str, tuple[Callable[..., Any], type[BaseModel]]] = {
    "generate": (datagen.generate, GenerateOptions),
    "critique": (datagen.critique, CritiqueOptions),
    "label": (datagen.label, LabelOptions),
}

DIFFERENT_ON_PURPOSE = {
    "concurrency": "unset on the command line: each model's own limit decides",
    "critique temperature": "distill's steered answers are greedy; sampling's default samples",
}
"""Options whose command-line default is not the model's, and why."""

AS_FIELD: dict[str, Callable[[Any], tuple[str, Any]]] = {
    "single_order": lambda value: ("both_orders", not value),
    "cot_band": lambda value: ("cot_band", datagen._band(value)),
}
"""Options that set a field under another name or form."""


def _defaults(command: Callable[..., Any]) -> dict[str, Any]:
    """The command's options and their defaults (required ones left out)."""
    defaults = {}
    for name, parameter in inspect.signature(command).parameters.items():
        value = getattr(parameter.default, "default", parameter.default)
        if value is not ...:
            defaults[name] = value
    return defaults


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_line_defaults_are_the_options_models(command: str) -> None:
    function, options = COMMANDS[command]
    checked = []
    for name, value in _defaults(function).items():
        if name in DIFFERENT_ON_PURPOSE or f"{command} {name}" in DIFFERENT_ON_PURPOSE:
            continue
        field, value = AS_FIELD[name](value) if name in AS_FIELD else (name, value)
        if field in options.model_fields:
            expected = options.model_fields[field].default
        elif field in SamplingSettings.model_fields:
            expected = SamplingSettings.model_fields[field].default
        else:
            continue  # a command-line switch with no field (--dry-run, --batch, --agreement)
        assert value == expected, f"rlaif {command} --{name.replace('_', '-')}"
        checked.append(name)
    assert len(checked) >= 5, checked  # the comparison found the options it is about

"""Lists of settings derived from the code they describe: which ModelSpec fields shape a model's
output, and which options each backend accepts."""

from __future__ import annotations

import importlib

import pytest

from rlaif.errors import ConfigError
from rlaif.models.base import Backend
from rlaif.models.spec import ModelSpec


def test_every_model_spec_field_says_whether_it_shapes_the_output() -> None:
    unclassified = [
        name
        for name, field in ModelSpec.model_fields.items()
        if not isinstance(field.json_schema_extra, dict)
        or not isinstance(field.json_schema_extra.get("shapes_output"), bool)
    ]
    assert unclassified == []
    runtime = ModelSpec.runtime_only_fields()
    assert {"max_concurrency", "cache", "max_retries", "price_input_per_million"} <= runtime
    assert not {"name", "base_url", "options"} & runtime


@pytest.mark.parametrize(
    ("module", "cls"),
    [
        ("rlaif.models.providers.openai", "OpenAIBackend"),
        ("rlaif.models.providers.anthropic", "AnthropicBackend"),
        ("rlaif.models.providers.hf", "HFBackend"),
    ],
)
def test_backend_options_come_from_the_constructor_and_are_documented(
    module: str, cls: str
) -> None:
    backend: type[Backend] = getattr(importlib.import_module(module), cls)
    options = backend.option_names()
    assert options and "model" not in options and "options" not in options
    undocumented = [name for name in options if f"``{name}``" not in (backend.__doc__ or "")]
    assert undocumented == []
    with pytest.raises(ConfigError) as error:
        backend.reject_unknown_options("m", {"temprature": 0})
    assert str(error.value) == (
        f"unknown option(s) for {backend.provider}/m: temprature; accepted: {', '.join(options)}"
    )
    backend.reject_unknown_options("m", {})

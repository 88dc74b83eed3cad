"""The config layer: one KEY=VALUE parser, one validation-error formatter, and ConfigFileError for
every malformed config file (pipeline, training, constitution)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from rlaif.config import (
    ConfigFileError,
    issues_from_validation_error,
    parse_key_values,
    parse_yaml_document,
)
from rlaif.constitution import ConstitutionError, load_constitution
from rlaif.errors import ConfigError
from rlaif.pipeline import load_pipeline_config
from rlaif.train.config import load_train_config
from rlaif.train.reward import RewardTrainConfig


def test_key_values_are_typed_yaml_and_optionally_dotted() -> None:
    assert parse_key_values(["a=1", "b=true", "c=x", "d=", "e=[1, 2]"]) == {
        "a": 1,
        "b": True,
        "c": "x",
        "d": "",
        "e": [1, 2],
    }
    assert parse_key_values(["lora.r=8"]) == {"lora.r": 8}
    assert parse_key_values(["lora.r=8", "lora.alpha=4"], dotted=True) == {
        "lora": {"r": 8, "alpha": 4}
    }
    assert parse_key_values(None) == {}


def test_key_value_errors_name_what_the_user_wrote() -> None:
    with pytest.raises(ConfigError, match=r"^override 'x' is not key=value$"):
        parse_key_values(["x"], name="override")
    with pytest.raises(ConfigError, match=r"^--option wants key=value, got '=1'$"):
        parse_key_values(["=1"], name="--option", malformed="{name} wants key=value, got {pair!r}")
    with pytest.raises(ConfigError, match=r"^option 'a=\[1': value is not valid YAML \("):
        parse_key_values(["a=[1"])
    with pytest.raises(ConfigError, match="conflicts with an earlier override"):
        parse_key_values(["a=1", "a.b=2"], name="override", dotted=True)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: run\nmodels:\n\tpolicy: fake/a\n", ":3:1: tab character used for indentation"),
        ("- just\n- a list\n", "a pipeline config must be a YAML mapping"),
        (
            "name: run\nmodels:\n  policy: fake/a\n  critic: fake/a\n  judge: fake/a\nseeed: 1\n",
            ":6:1: seeed: unknown key 'seeed' (did you mean 'seed'?)",
        ),
    ],
)
def test_a_malformed_pipeline_yaml_is_a_config_file_error(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, "pipeline.yaml", text)
    with pytest.raises(ConfigFileError) as error:
        load_pipeline_config(path)
    assert not isinstance(error.value, ConstitutionError)
    assert expected in str(error.value) and str(path) in str(error.value)


def test_a_malformed_training_yaml_is_a_config_file_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "rm.yaml", "model: [\n")
    with pytest.raises(ConfigFileError, match=rf"{path}:2:1: invalid YAML"):
        load_train_config(RewardTrainConfig, path)
    _write(tmp_path, "rm.yaml", "- model\n")
    with pytest.raises(ConfigFileError, match=rf"{path}:1:1: a training config must be a YAML"):
        load_train_config(RewardTrainConfig, path)
    with pytest.raises(ConfigError, match="training config not found"):
        load_train_config(RewardTrainConfig, tmp_path / "missing.yaml")


def test_constitution_errors_are_config_file_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.yaml", "name: [\n")
    with pytest.raises(ConstitutionError) as error:
        load_constitution(path)
    assert isinstance(error.value, ConfigFileError) and error.value.issues[0].line == 2


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int
    note: str | None = None

    @model_validator(mode="after")
    def _note_needs_count(self) -> _Inner:
        if self.note is not None and self.count == 0:
            raise PydanticCustomError("no_note", "a note needs a count", {"field": "note"})
        return self


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inner: list[_Inner]


def test_validation_issues_point_at_keys_values_and_named_fields() -> None:
    text = "inner:\n  - count: x\n  - cuont: 1\n  - count: 0\n    note: hi\n"
    document = parse_yaml_document(text, "f.yaml")
    with pytest.raises(ValidationError) as error:
        _Outer.model_validate(document.data)
    issues = [str(i) for i in issues_from_validation_error(document, error.value, _Outer)]
    assert issues == [
        "f.yaml:2:12: inner[0].count: input should be a valid integer, unable to parse string "
        "as an integer",
        "f.yaml:3:5: inner[1].count: field required",
        "f.yaml:3:5: inner[1].cuont: unknown key 'cuont' (did you mean 'count'?)",
        "f.yaml:5:5: inner[2].note: a note needs a count",
    ]


def test_one_line_validation_wording_is_shared_by_data_options_and_cli():
    from pydantic import BaseModel, Field, ValidationError, field_validator

    from rlaif.cli.common import option_error
    from rlaif.config import describe_validation_error
    from rlaif.data.jsonl import DataFileError, validate_row
    from rlaif.data.records import PromptRecord
    from rlaif.errors import ConfigError
    from rlaif.models.registry import check_model_options

    class Options(BaseModel):
        limit: int = Field(ge=1)
        name: str = "x"

        @field_validator("name")
        @classmethod
        def _plain(cls, value: str) -> str:
            if value != "x":
                raise ValueError("name must be x")
            return value

    with pytest.raises(ValidationError) as caught:
        Options.model_validate({"limit": 0, "name": "y"})
    assert describe_validation_error(caught.value) == (
        "limit: input should be greater than or equal to 1; name: name must be x"
    )
    assert option_error(caught.value) == (
        "--limit: input should be greater than or equal to 1 (got 0); --name: name must be x"
    )
    with pytest.raises(ValidationError) as missing:
        Options.model_validate({})
    assert describe_validation_error(missing.value) == "limit: field required"
    with pytest.raises(DataFileError, match=r"f\.jsonl:3: not a valid PromptRecord: id: field"):
        validate_row("f.jsonl:3", {"prompt": "hi"}, PromptRecord)
    with pytest.raises(ConfigError, match=r"max_concurrency: input should be .* \(got 0\)"):
        check_model_options("hf/tiny", {"max_concurrency": 0})

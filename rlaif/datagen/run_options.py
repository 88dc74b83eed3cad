"""What the options of ``generate``, ``critique`` and ``label`` share: checked input and output
paths (the output never one of the inputs), checked sampling settings, model options, and the
resume settings built from them.

Everything here runs when an options model is built, so a bad value is one error before any
file is read or written and before any model is called."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from rlaif.config.paths import check_input_file, check_output_file
from rlaif.data.manifest import output_files, same_file
from rlaif.errors import ConfigError
from rlaif.judge.sampling import SamplingSettings
from rlaif.judge.shortening import DEFAULT_MAX_PROMPT_CHARS
from rlaif.models import GenerateConfig
from rlaif.models.registry import check_model_options, output_shaping_options

DEFAULT_CONCURRENCY = 8
"""Units in flight when neither ``concurrency`` nor a model's ``max_concurrency`` is given."""


def _flag(info: ValidationInfo) -> str:
    return f"--{(info.field_name or 'path').replace('_', '-')}"


def _input_file(path: Path, info: ValidationInfo) -> Path:
    return check_input_file(path, _flag(info))


def _output_file(path: Path, info: ValidationInfo) -> Path:
    return check_output_file(path, _flag(info))


def _sampling(settings: SamplingSettings) -> SamplingSettings:
    if settings.n < 1:
        raise ValueError(f"n (responses per prompt) must be at least 1, got {settings.n}")
    try:  # the bounds every model call enforces, checked once up front
        GenerateConfig(
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_tokens,
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise ValueError(
            f"{first['loc'][0]}: {first['msg'].lower()} (got {first['input']!r})"
        ) from None
    return settings


InputFile = Annotated[Path, AfterValidator(_input_file)]
"""A path that must be a readable file (checked when the options are built)."""
OutputFile = Annotated[Path, AfterValidator(_output_file)]
"""A path where a file can be written (checked when the options are built)."""
CheckedSampling = Annotated[SamplingSettings, AfterValidator(_sampling)]
"""Sampling settings within what models accept (``n >= 1``, ``0 <= temperature <= 2``, ...)."""


def output_paths(out: Path, output_format: str = "jsonl") -> tuple[Path, Path | None]:
    """The JSONL file a job writes for ``--out`` (``x.parquet`` → ``x.jsonl``) and its Parquet
    copy (with ``--format parquet`` or a ``.parquet`` out; else ``None``)."""
    jsonl = out.with_suffix(".jsonl") if out.suffix == ".parquet" else out
    wants_parquet = output_format == "parquet" or out.suffix == ".parquet"
    return jsonl, jsonl.with_suffix(".parquet") if wants_parquet else None


def check_output_is_not_input(
    out: Path, inputs: Mapping[str, str | Path | None], output_format: str = "jsonl"
) -> None:
    """Refuse (:class:`ConfigError`) an ``out`` that is, or whose side files or Parquet copy
    would be, a file given as an input (``inputs``: each option's value by its name): the run
    would write into its own input (same path once resolved, or the same file on disk)."""
    jsonl, parquet = output_paths(out, output_format)
    written = [out, *output_files(jsonl), *([parquet] if parquet else [])]
    for name, given in inputs.items():
        if given is None:
            continue
        for path in written:
            if same_file(given, path):
                what = "--out" if path in (out, jsonl) else f"{path.name}, written for --out"
                raise ConfigError(
                    f"--{name} {given} is also {what}: the run would write into its own "
                    "input; choose another --out"
                )


def check_models(options: BaseModel, *roles: str) -> None:
    """Check each role's model name and its ``<role>_options`` (provider known, option names
    accepted by that backend); options for a role whose model is not named are an error."""
    for role in roles:
        name, given = getattr(options, role), getattr(options, f"{role}_options")
        if not name:
            if given:
                raise ConfigError(f"--{role}-option needs --{role}, the model it applies to")
            continue
        check_model_options(name, given)


class JobOptions(BaseModel):
    """The options every dataset job has (``generate``, ``critique``, ``label``): how much of the
    input to use, how many units in flight, and the progress display."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    model_roles: ClassVar[tuple[str, ...]] = ()
    """The roles whose model the options name (a ``<role>`` field and ``<role>_options``): each
    is checked, and their largest ``max_concurrency`` is the default ``concurrency``."""
    input_options: ClassVar[tuple[str, ...]] = ()
    """The options naming an input file or prompt set, none of which may be the output."""

    limit: int | None = Field(default=None, ge=1)
    """Use only the first N input items (prompts, pairs, candidate lines or SFT records)."""
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1)
    """Units of work in flight at once (``None``: the largest ``max_concurrency`` among the
    models' options, else 8)."""
    progress: bool = True
    """Draw a progress bar."""

    @model_validator(mode="before")
    @classmethod
    def _default_concurrency(cls, data: Any) -> Any:
        """A ``concurrency`` left out (or ``None``) becomes the largest ``max_concurrency`` in
        the roles' ``<role>_options`` (so that a model allowed 64 requests in flight gets 64
        units of work at once), else :data:`DEFAULT_CONCURRENCY`."""
        if not isinstance(data, dict) or data.get("concurrency") is not None:
            return data
        limits = []
        for role in cls.model_roles:
            given = data.get(f"{role}_options")
            limit = given.get("max_concurrency") if isinstance(given, dict) else None
            if isinstance(limit, int) and limit >= 1:  # a bad value is the model check's to report
                limits.append(limit)
        return {**data, "concurrency": max(limits, default=DEFAULT_CONCURRENCY)}

    @model_validator(mode="after")
    def _known_models(self) -> Self:
        check_models(self, *self.model_roles)
        return self

    @model_validator(mode="after")
    def _output_is_not_an_input(self) -> Self:
        given = vars(self)
        check_output_is_not_input(
            given["out"],
            {name: given[name] for name in self.input_options},
            given.get("format", "jsonl"),
        )
        return self


class DatasetJobOptions(JobOptions):
    """A job that writes a dataset others train on (``critique``, ``label``): with a Parquet copy
    and a Hub upload on request, from conversations a judge or critic reads."""

    recorded_when_changed: ClassVar[frozenset[str]] = frozenset({"max_prompt_chars"})
    """Options added after outputs were first written: a resumed run records and compares them
    only when they differ from their default, so those outputs still resume."""

    max_prompt_chars: int = Field(default=DEFAULT_MAX_PROMPT_CHARS, ge=1)
    """A conversation longer than this many characters is shortened for the judge and the critic
    (the system turn, the last user turn and as much recent context as fits; noted on the
    record)."""

    format: Literal["jsonl", "parquet"] = "jsonl"
    """Also write a Parquet copy when the run completes."""
    push_to_hub: str | None = None
    """Hub dataset repo to upload the finished file to (with a dataset card)."""


def resume_settings(options: BaseModel, exclude: set[str], **models: str | None) -> dict[str, Any]:
    """``options`` as the settings a resumed run must share with the first one: without
    ``exclude`` and with each ``<role>_options`` reduced to what changes the output (a rerun
    with another timeout or concurrency resumes); ``models`` maps each role to its model name."""
    settings = options.model_dump(mode="json", exclude=exclude)
    for name in getattr(options, "recorded_when_changed", ()):
        if getattr(options, name) == type(options).model_fields[name].default:
            settings.pop(name, None)
    for role, name in models.items():
        key = f"{role}_options"
        settings[key] = output_shaping_options(name, settings[key]) if name else {}
        if not settings[key]:
            del settings[key]  # a run without options keeps the settings an older run recorded
    return settings

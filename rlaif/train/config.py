"""Training configs: the fields every algorithm shares, LoRA settings, YAML loading with
``key=value`` overrides, and the mapping of our fields onto a TRL config dataclass.

Each algorithm module defines its own config class on top of :class:`TrainConfig`. Anything TRL
accepts that we do not name goes through ``trl_args`` untouched.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rlaif.config import (
    FieldProblem,
    YamlDocument,
    closest,
    field_problems,
    format_field_path,
    issue_in,
    load_yaml_mapping,
    merge_nested,
    parse_key_values,
)
from rlaif.errors import ConfigError
from rlaif.train.data import DataStats, preference_rows

Precision = Literal["auto", "bf16", "fp16", "fp32"]
ModelDtype = Literal["float32", "bfloat16", "float16", "auto"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class LoraSettings(_Config):
    """Train a LoRA adapter (through ``peft``) instead of every weight."""

    r: int = Field(default=16, ge=1)
    """Rank of the low-rank update."""
    alpha: int = Field(default=32, ge=1)
    """Scaling numerator (``lora_alpha``); the update is scaled by ``alpha / r``."""
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    """Dropout on the adapter input."""
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    """Module names to adapt (e.g. ``[q_proj, v_proj]``), or ``all-linear``."""
    merge: bool = True
    """Also save the base model with the adapter merged in (so the next stage can load a plain
    model folder); the adapter itself is always saved under ``adapter/``."""


class TrainConfig(_Config):
    """Fields shared by every training algorithm."""

    model: str
    """Starting model: a local folder (``hf/`` prefix allowed) or a hub id."""
    dataset: str
    """Input data file (JSONL or Parquet); what it must hold depends on the algorithm."""
    output_dir: str
    """Run folder: the trained model (Hugging Face format), its config, TRL logs, metrics.json."""
    learning_rate: float = Field(default=1e-5, gt=0.0)
    """Peak learning rate of AdamW."""
    num_train_epochs: float = Field(default=1.0, gt=0.0)
    """Passes over the training data (ignored when ``max_steps`` is set)."""
    max_steps: int = -1
    """Stop after this many optimizer steps (``-1``: run ``num_train_epochs``)."""
    per_device_train_batch_size: int = Field(default=4, ge=1)
    """Examples per device per forward pass."""
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    """Forward passes accumulated into one optimizer step."""
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N usable records of the dataset."""
    seed: int = 0
    """Seed for model heads, shuffling and sampling."""
    logging_steps: int = Field(default=10, ge=1)
    """Log metrics every N optimizer steps."""
    save_steps: int | None = Field(default=None, ge=1)
    """Write a checkpoint every N steps (``None``: only the final model)."""
    resume_from_checkpoint: bool | str | None = None
    """Continue from a checkpoint: ``true`` for the latest in ``output_dir``, or its path."""
    precision: Precision = "auto"
    """Mixed precision: ``auto`` is bf16 on a GPU that supports it, and on a machine without a
    GPU whose CPU computes bf16 natively (AVX512-BF16 or AMX); else fp32. Master weights stay
    ``model_dtype``."""
    model_dtype: ModelDtype = "float32"
    """dtype the weights are loaded in (fp32 master weights are the safe default)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass to save memory (slower)."""
    lora: LoraSettings | None = None
    """Train a LoRA adapter instead of the full model."""
    trust_remote_code: bool = False
    """Allow model repositories to run their own code (off unless you trust the source)."""
    report_to: list[str] = Field(default_factory=list)
    """Experiment trackers for TRL to report to (``wandb``, ``tensorboard``, ...)."""
    trl_args: dict[str, Any] = Field(default_factory=dict)
    """Any other argument of the TRL config class, passed through untouched."""

    @property
    def merge_lora(self) -> bool:
        """Whether to save a merged full model besides the LoRA adapter."""
        return self.lora is not None and self.lora.merge

    def base_trl_kwargs(self) -> dict[str, Any]:
        """Our shared fields as ``transformers.TrainingArguments`` keyword arguments."""
        bf16, fp16 = resolve_precision(self.precision)
        on_cpu = {"use_cpu": True} if bf16 and not _has_cuda() else {}
        return {
            **on_cpu,
            "output_dir": self.output_dir,
            "learning_rate": self.learning_rate,
            "num_train_epochs": self.num_train_epochs,
            "max_steps": self.max_steps,
            "per_device_train_batch_size": self.per_device_train_batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "seed": self.seed,
            "logging_steps": self.logging_steps,
            "save_strategy": "steps" if self.save_steps else "no",
            "save_steps": self.save_steps or 500,
            "bf16": bf16,
            "fp16": fp16,
            "gradient_checkpointing": self.gradient_checkpointing,
            "report_to": self.report_to or "none",
        }

    def model_options(self) -> dict[str, Any]:
        """How every model of this run is loaded: ``dtype`` and ``trust_remote_code``."""
        return {"dtype": self.model_dtype, "trust_remote_code": self.trust_remote_code}


class PreferenceTrainConfig(TrainConfig):
    """Fields of the trainers that read AI preference pairs (the reward model and DPO)."""

    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    """Drop pairs whose ``p_chosen`` is below this."""
    drop_inconsistent: bool = False
    """Drop pairs whose two presentation orders disagreed (``consistent: false``)."""

    def training_pairs(self) -> tuple[list[dict[str, Any]], DataStats]:
        """The pairs of ``dataset`` this run trains on (filtered and limited) and what happened
        to the others."""
        return preference_rows(
            self.dataset,
            min_confidence=self.min_confidence,
            drop_inconsistent=self.drop_inconsistent,
            limit=self.limit,
        )


def resolve_precision(precision: Precision) -> tuple[bool, bool]:
    """``(bf16, fp16)`` flags for a precision setting; ``auto`` picks bf16 on a GPU that has it,
    or, with no GPU, on a CPU that computes it natively (about 1.3x faster steps than fp32 on a
    2-core AMX machine; benchmarks/README.md, "Quickstart recipe")."""
    if precision == "auto":
        import torch

        from rlaif.models.local import cpu_has_native_bf16

        if torch.cuda.is_available():
            return (torch.cuda.is_bf16_supported(), False)
        return (cpu_has_native_bf16(), False)
    return (precision == "bf16", precision == "fp16")


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def build_trl_config(config_class: type, ours: dict[str, Any], trl_args: dict[str, Any]) -> Any:
    """Instantiate a TRL config dataclass from our mapped fields plus ``trl_args``.

    A ``trl_args`` key that one of our fields already sets, or that the TRL class does not know,
    is a :class:`ConfigError` naming the key (and the closest known name)."""
    known = {f.name for f in dataclasses.fields(config_class)}
    ours = dict(ours)
    if "gradient_checkpointing" in ours and "activation_checkpointing" in known:
        # transformers 5.x renamed the option; the old name warns when set.
        ours["activation_checkpointing"] = ours.pop("gradient_checkpointing")
    for key in trl_args:
        if key in ours:
            raise ConfigError(
                f"trl_args.{key} is set from this config's own fields; set those instead of "
                f"passing it through trl_args"
            )
        if key not in known:
            hint = closest(key, sorted(known))
            suggestion = f" (did you mean '{hint}'?)" if hint else ""
            raise ConfigError(
                f"trl_args.{key} is not an argument of {config_class.__name__}{suggestion}"
            )
    unknown_ours = set(ours) - known
    if unknown_ours:  # a mapping bug on our side, not the user's
        raise RuntimeError(f"{config_class.__name__} has no fields {sorted(unknown_ours)}")
    try:
        return config_class(**ours, **trl_args)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config_class.__name__} rejected the settings: {error}") from error


C = TypeVar("C", bound=BaseModel)


def load_train_config(
    config_class: type[C],
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    values: dict[str, Any] | None = None,
) -> C:
    """Build a config from an optional YAML file, a mapping and ``key=value`` overrides (in that
    order of precedence, last wins; dotted override keys such as ``lora.r=8`` reach nested
    fields, values are YAML). Errors name the file, line and field, or the override.

    A file that is not a YAML mapping raises :class:`ConfigFileError`; fields that do not
    validate raise :class:`ConfigError`, one line per problem."""
    document = None
    data: dict[str, Any] = {}
    if path is not None:
        document = load_yaml_mapping(Path(path), "training config")
        data = document.data
    data = merge_nested(data, values or {})
    override_data = parse_key_values(overrides, name="override", dotted=True)
    data = merge_nested(data, override_data)
    try:
        return config_class.model_validate(data)
    except ValidationError as error:
        problems = [
            _describe(problem, document, override_data)
            for problem in field_problems(error, config_class)
        ]
        raise ConfigError("\n".join(problems)) from None


def _describe(
    problem: FieldProblem, document: YamlDocument | None, overrides: dict[str, Any]
) -> str:
    """One readable line for a problem: the override or the file position it came from."""
    field = format_field_path(problem.path) or "(root)"
    if _from_override(problem.path, overrides):
        return f"override {field}: {problem.message}"
    if document is not None:
        return str(issue_in(document, problem))
    return f"{field}: {problem.message}"


def _from_override(loc: tuple[Any, ...], overrides: dict[str, Any]) -> bool:
    node: Any = overrides
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def coerce_config(config_class: type[C], config: C | dict[str, Any] | str | Path) -> C:
    """Accept a config object, a mapping of its fields, or the path of a YAML file."""
    if isinstance(config, config_class):
        return config
    if isinstance(config, dict):
        return load_train_config(config_class, values=config)
    if isinstance(config, (str, Path)):
        return load_train_config(config_class, path=config)
    raise TypeError(f"expected {config_class.__name__}, a mapping or a path, got {type(config)}")

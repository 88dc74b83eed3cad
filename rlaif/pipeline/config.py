"""The pipeline YAML: models, constitution, prompt sets and one section per stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rlaif.config import (
    ConfigFileError,
    FieldPath,
    ValidationIssue,
    YamlDocument,
    issues_from_validation_error,
    load_yaml_mapping,
)
from rlaif.constitution import library
from rlaif.datagen.label_options import DEFAULT_TIE_MARGIN, Strategy
from rlaif.errors import ConfigError
from rlaif.judge.modes import Mode
from rlaif.models.model import ModelSpec
from rlaif.models.registry import check_model_options

STAGE_ORDER = ("critique", "sft", "sample", "label", "rm", "policy", "eval")
"""Stages in the order they run; ``policy`` is PPO, DPO, GRPO or RLOO."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class ModelsSection(_Section):
    """Which model plays which role."""

    policy: ModelSpec
    """The model being trained (an ``hf/`` model: training needs local weights)."""
    critic: ModelSpec
    """Writes critiques and revisions in the supervised stage."""
    judge: ModelSpec
    """Compares responses in the preference stage and in evaluation."""
    policy_generation: ModelSpec | None = None
    """Optional: where the *initial* policy generates (e.g. ``openai/<model>`` on a vLLM server
    serving the same weights), instead of loading ``policy`` locally. Training, and generation
    from trained checkpoints, always use local weights."""


class PromptsSection(_Section):
    """Prompt sets (JSONL ``{"id", "prompt", "category"}``); paths are relative to the config
    file, or to the built-in ``eval/`` folder when they start with ``eval/``."""

    train: str = "eval/prompts/red_team_train.jsonl"
    """Prompts for critique, sampling and RL."""
    test: str = "eval/prompts/red_team_test.jsonl"
    """Held-out red-team prompts for evaluation."""
    benign: str = "eval/prompts/benign.jsonl"
    """Benign prompts (some only look dangerous), to measure over-refusal."""
    helpful: str | None = None
    """Harmless training prompts mixed into both stages, as CAI mixes in helpfulness data, so
    that the policy keeps answering what it should (e.g. ``eval/prompts/benign_train.jsonl``):
    the supervised stage adds their answers under the helpfulness constitution's ``contrast``
    (the policy's own answers, for ``helpful``) and the label stage adds answer-over-refusal
    pairs."""


class GenerationSettings(_Section):
    """Sampling settings for a stage's model calls."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature (0 = greedy)."""
    max_tokens: int = Field(default=128, ge=1)
    """Most new tokens per call."""


class CritiqueStage(_Section):
    """Critique-and-revise the policy's responses (supervised stage)."""

    enabled: bool = True
    """Run this stage (SFT needs it)."""
    method: Literal["revise", "distill"] = "revise"
    """``revise``: the critic critiques and revises the policy's answers (CAI's supervised
    stage). ``distill``: no critic; the policy's answer steered by the constitution's
    ``contrast`` (a refusal opening, for ``cai-harmless``) is the SFT target (context
    distillation), at one policy call per prompt."""
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N training prompts (and N helpful prompts)."""
    rounds: int | None = Field(default=None, ge=1)
    """Critique–revision rounds (default: the constitution's)."""
    policy: GenerationSettings = Field(default_factory=GenerationSettings)
    """How the policy writes its initial response."""
    critic: GenerationSettings = Field(default_factory=GenerationSettings)
    """How the critic writes critiques and revisions."""


class TrainStage(_Section):
    """A training stage: our training config, passed to ``rlaif.train``."""

    enabled: bool = True
    """Run this stage."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Fields of the algorithm's training config (see ``rlaif train <algo> --help``); the model
    and dataset paths are filled in by the pipeline."""
    accelerate_config: str | None = None
    """Run this stage as ``accelerate launch --config_file FILE -m rlaif train ...`` (several
    GPUs, DeepSpeed, FSDP), e.g. ``configs/accelerate/deepspeed_zero2.yaml``; else in-process."""
    num_processes: int | None = Field(default=None, ge=1)
    """Override the accelerate config's process count."""


class SampleStage(_Section):
    """Sample K responses per training prompt from the (SFT) policy (and, with
    ``prompts.helpful``, per helpful prompt: the judge labels both)."""

    enabled: bool = True
    """Run this stage (only the ``judge`` labelling strategy needs it)."""
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N training prompts (and N helpful prompts)."""
    n: int = Field(default=2, ge=2)
    """Responses per prompt."""
    generation: GenerationSettings = Field(
        default_factory=lambda: GenerationSettings(temperature=1.0)
    )
    """Sampling settings."""


class GateSettings(_Section):
    """Refuse to use the judge's labels unless its measured agreement with humans is high enough.

    The human labels are either ``data`` (human-labelled pairs, as for ``rlaif eval agreement
    --data``) or your own labels: ``labels`` (``rlaif annotate serve`` output) with the
    ``pairs`` they were given on, measured against the annotators' majority."""

    data: str | None = None
    """Human-labelled pairs to measure agreement on before labelling (skipped if absent)."""
    labels: str | None = None
    """A labels file of ``rlaif annotate serve``, instead of ``data`` (needs ``pairs``)."""
    pairs: str | None = None
    """The pair file ``labels`` was labelled on."""
    pairs_seed: int = 0
    """The ``--seed`` ``rlaif annotate serve`` read ``pairs`` with."""
    limit: int = Field(default=50, ge=1)
    """Pairs to measure on."""
    min_agreement: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum accuracy against the human labels (their majority, for ``labels``)."""
    min_consistency: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum rate at which both presentation orders agree."""

    @model_validator(mode="after")
    def _one_source(self) -> GateSettings:
        if (self.labels is None) != (self.pairs is None):
            raise ValueError("labels and pairs go together: the labels and the pair file")
        if self.labels is not None and self.data is not None:
            raise ValueError("give data (labelled pairs) or labels with pairs, not both")
        return self


class LabelStage(_Section):
    """Build AI preference pairs."""

    enabled: bool = True
    """Run this stage."""
    strategy: Strategy = "contrastive"
    """How pairs are built (see the README's "strategies")."""
    also: list[Strategy] = Field(default_factory=list)
    """Further strategies to run and report, whose pairs are kept in their own files."""
    also_limit: int | None = Field(default=None, ge=1)
    """Training prompts for the ``also`` strategies (default: ``limit``), e.g. a small
    contrastive audit of the judge beside judge-labelled training pairs."""
    mode: Mode = "auto"
    """How the judge gives verdicts (also used by the eval stage's agreement run)."""
    position_prior: float | None = None
    """The judge's first-position prior logit to remove from each soft vote
    (``position_prior_logit`` of an agreement run of the same judge)."""
    confirm: bool = True
    """For revision/contrastive pairs: have the judge confirm the preferred side."""
    confirm_mode: Literal["filter", "audit"] = "filter"
    """``filter``: pairs the judge does not confirm are skipped and its probability is the soft
    label. ``audit``: every pair keeps the construction's label; the judge's verdicts are recorded
    and its rate of agreement with the construction reported."""
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N training prompts (and N helpful prompts)."""
    tie_margin: float = Field(default=DEFAULT_TIE_MARGIN, ge=0.0, le=1.0)
    """The judge's least confidence for a label: pairs whose margin ``|2p - 1|`` is below it go
    to the skipped file as ties, with the reason."""
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    """Policy sampling settings for contrastive pairs."""
    sample_from: Literal["sft", "initial"] = "sft"
    """Which policy writes the contrastive pairs: ``sft`` (the SFT policy, the one the policy
    stage starts from) or ``initial`` (the untrained policy; with the supervised stage's
    ``distill`` method and the same sampling settings its preferred side repeats the distilled
    calls, which the response cache answers)."""
    gate: GateSettings = Field(default_factory=GateSettings)
    """Optional agreement gate."""


class PolicyStage(TrainStage):
    """The policy-optimisation stage."""

    algorithm: Literal["ppo", "dpo", "grpo", "rloo"] = "ppo"
    """PPO (against the reward model), DPO (on the pairs), GRPO or RLOO."""


class EvalStage(_Section):
    """Evaluate the trained policy against the initial one, and the judge against humans."""

    enabled: bool = True
    """Run this stage."""
    prompt_limit: int | None = Field(default=None, ge=1)
    """A seeded random subset of this many prompts from each of the test and benign sets
    (default: all)."""
    judge_limit: int | None = Field(default=None, ge=1)
    """The judge rates a seeded random subset of this many of the evaluated prompts per group
    (win rates and its refusal verdicts); the lexical rule reads every reply (default: all)."""
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    """Policy sampling settings for evaluation."""
    human_data: str | None = "hh-harmless"
    """Human-labelled pairs for judge agreement and reward-model accuracy: a built-in suite name
    (``hh-harmless``, 400 Anthropic HH-RLHF pairs shipped with rlaif), a suite YAML, a pair file
    (relative to this config, else to the working directory) or ``hf:owner/name``. A file that
    is not there stops the run before anything runs; ``null`` skips both measurements."""
    human_limit: int = Field(default=50, ge=1)
    """Human-labelled pairs to use."""
    judge_agreement: bool = True
    """Measure the judge's agreement with the human labels; ``false`` keeps the reward model's
    accuracy on them (rm stage) and spares the judge those calls."""
    reward_scores: bool = True
    """Score every reply with the trained reward model and report the distributions (its
    accuracy is reported by the rm stage either way)."""


class StagesSection(_Section):
    """One section per stage."""

    critique: CritiqueStage = Field(default_factory=CritiqueStage)
    """Critique and revise."""
    sft: TrainStage = Field(default_factory=TrainStage)
    """Supervised fine-tuning on the revisions."""
    sample: SampleStage = Field(default_factory=SampleStage)
    """Sample candidates for judge labelling."""
    label: LabelStage = Field(default_factory=LabelStage)
    """Preference labelling."""
    rm: TrainStage = Field(default_factory=TrainStage)
    """Reward-model training."""
    policy: PolicyStage = Field(default_factory=PolicyStage)
    """PPO / DPO / GRPO / RLOO."""
    eval: EvalStage = Field(default_factory=EvalStage)
    """Evaluation and report."""


class PipelineConfig(_Section):
    """A whole RLAIF run."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Run name; artifacts go to ``<output_dir>/<name>/<stage>/``."""
    output_dir: str = "runs"
    """Folder holding every run, relative to the working directory."""
    seed: int = 0
    """Seed for every sampling step."""
    constitution: str = "cai-harmless"
    """Built-in constitution name or path (relative to this file)."""
    helpfulness_constitution: str = "helpful"
    """The constitution of helpfulness: the ``prompts.helpful`` prompts are steered and labelled
    under it, and the evaluation judges the benign replies under it (a helpfulness win rate).
    Built-in name or path."""
    principles_per_pair: int | None = Field(default=None, ge=1)
    """Principles the judge asks about per comparison, in labelling and evaluation (default:
    the constitution's ``sampling.per_example``). Each one costs a judge call per order."""
    models: ModelsSection
    """Model roles."""
    prompts: PromptsSection = Field(default_factory=PromptsSection)
    """Prompt sets."""
    stages: StagesSection = Field(default_factory=StagesSection)
    """Stage settings."""


def load_pipeline_config(path: str | Path) -> tuple[PipelineConfig, Path]:
    """Load and validate a pipeline YAML; a malformed one raises :class:`ConfigFileError`, whose
    issues name the file, line and field. Every model name is resolved too (known provider,
    options its backend accepts), without loading anything, so that a typo fails here rather
    than at the stage that first calls the model."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give the pipeline YAML file")
    document = load_yaml_mapping(path, "pipeline config")
    try:
        config = PipelineConfig.model_validate(document.data)
    except ValidationError as error:
        raise ConfigFileError(
            issues_from_validation_error(document, error, PipelineConfig)
        ) from None
    folder = path.resolve().parent
    issues = [
        *model_issues(document, config.models),
        *constitution_issues(document, config, folder),
    ]
    if issues:
        raise ConfigFileError(issues)
    return config, folder


def constitution_issues(
    document: YamlDocument, config: PipelineConfig, folder: Path
) -> list[ValidationIssue]:
    """``constitution`` and ``helpfulness_constitution`` values that are neither a built-in
    constitution nor a path beside the config (``folder``), located at their line in
    ``document``; their contents are checked when a stage loads them."""
    issues = []
    for field in ("constitution", "helpfulness_constitution"):
        name: str = getattr(config, field)
        problem = library.unknown_constitution(name, folder)
        if problem is None:
            continue
        kind, known = problem
        if kind == "file":
            message = f"no such file: {folder / name} (a path is relative to this config)"
        else:
            message = (
                f"{name!r} is neither a built-in constitution nor a file beside this config; "
                f"{known}"
            )
        issues.append(document.issue((field,), message))
    return issues


def model_issues(document: YamlDocument, models: ModelsSection) -> list[ValidationIssue]:
    """What is wrong with each model of ``models`` (unknown provider, options its backend does
    not take), located in ``document``."""
    issues = []
    for role in ModelsSection.model_fields:
        spec: ModelSpec | None = getattr(models, role)
        if spec is None:
            continue
        written_as_mapping = isinstance(document.data["models"].get(role), dict)
        where: FieldPath = ("models", role, "name") if written_as_mapping else ("models", role)
        try:
            check_model_options(spec.name, {})
        except ConfigError as error:
            issues.append(document.issue(where, str(error)))
            continue
        try:
            check_model_options(spec.name, spec.options)
        except ConfigError as error:
            issues.append(document.issue(("models", role, "options"), str(error)))
    return issues

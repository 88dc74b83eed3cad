"""The stage functions: each is a thin call into one layer's public API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlaif.annotate import load_annotation_pairs
from rlaif.data import DataFileError
from rlaif.data.jsonl import concatenate_jsonl, read_records
from rlaif.data.records import SFTRecord
from rlaif.datagen import (
    CritiqueOptions,
    GenerateOptions,
    LabelOptions,
    run_critique,
    run_generate,
    run_labelling,
)
from rlaif.datagen.label_options import Strategy
from rlaif.errors import ConfigError, RlaifError
from rlaif.eval import (
    AgreementSettings,
    JudgeSpec,
    human_labelled_pairs,
    run_agreement,
)
from rlaif.eval.loaders import labelled_pairs_file
from rlaif.judge import SamplingSettings, revision_counts
from rlaif.judge.gate import AgreementGate
from rlaif.models.model import Model, ModelSpec
from rlaif.pipeline.config import GenerationSettings, PipelineConfig
from rlaif.pipeline.context import StageContext, StageResult
from rlaif.train import config_class, run_training


def _hf_spec(base: ModelSpec, folder: Path) -> ModelSpec:
    """The spec of a model we trained: same options as ``base``, weights from ``folder``."""
    return base.model_copy(update={"name": f"hf/{folder.resolve()}"})


def current_policy(ctx: StageContext, after: tuple[str, ...] = ("sft",)) -> ModelSpec:
    """The newest policy: the output of the latest of ``after`` that produced a model, else
    the configured policy."""
    for stage in reversed(after):
        if ctx.has_output(stage, "model"):
            return _hf_spec(ctx.config.models.policy, ctx.upstream_output(stage, "model"))
    return initial_policy(ctx.config)


def initial_policy(config: PipelineConfig) -> ModelSpec:
    """Where the untrained policy generates: ``policy_generation`` if given, else ``policy``."""
    return config.models.policy_generation or config.models.policy


def _model_path(ctx: StageContext, stage: str) -> str:
    """A trained model folder, or the configured policy name, for a training config's ``model``."""
    if ctx.has_output(stage, "model"):
        return str(ctx.upstream_output(stage, "model").resolve())
    return ctx.config.models.policy.name


def concurrency_of(*specs: ModelSpec) -> int | None:
    """Units of work in flight: the largest ``max_concurrency`` of the models a stage calls
    (``None``: the job's default), so that a local model batches that many requests."""
    limits = [spec.max_concurrency for spec in specs if spec.max_concurrency]
    return max(limits) if limits else None


def _sampling(settings: GenerationSettings, n: int, seed: int) -> Any:
    return SamplingSettings(
        n=n, temperature=settings.temperature, max_tokens=settings.max_tokens, seed=seed
    )


def _training_parts(ctx: StageContext, stem: str) -> dict[str, tuple[str, Path, str | Path]]:
    """The prompt sets a data stage runs on, each with its output file, prompt file and
    constitution: ``train`` under the run's constitution, and with ``prompts.helpful`` also
    ``helpful`` under the helpfulness constitution (then ``<stem>.jsonl`` is their union)."""
    config = ctx.config
    train = ctx.input_path(config.prompts.train)
    if config.prompts.helpful is None:
        return {"train": (f"{stem}.jsonl", train, ctx.resolve_constitution())}
    return {
        "train": (f"{stem}-train.jsonl", train, ctx.resolve_constitution()),
        "helpful": (
            f"{stem}-helpful.jsonl",
            ctx.input_path(config.prompts.helpful),
            ctx.resolve_helpfulness_constitution(),
        ),
    }


def run_critique_stage(ctx: StageContext) -> StageResult:
    """The SFT data: the training prompts critiqued and revised (or distilled, see
    ``stages.critique.method``), plus, with ``prompts.helpful``, the policy's answers to the
    helpful prompts under the helpfulness constitution."""
    config, settings = ctx.config, ctx.config.stages.critique
    parts = _training_parts(ctx, "sft")
    metrics: dict[str, Any] = {}
    manifests: dict[str, str] = {}
    for part, (name, prompts, constitution) in parts.items():
        options = CritiqueOptions(
            constitution=str(constitution),
            method=settings.method if part == "train" else "distill",
            model=config.models.critic.name,
            policy=initial_policy(config).name,
            out=ctx.stage_dir / name,
            prompts=str(prompts),
            rounds=settings.rounds,
            seed=config.seed,
            temperature=settings.critic.temperature,
            max_tokens=settings.critic.max_tokens,
            sampling=_sampling(settings.policy, 1, config.seed),
            limit=settings.limit,
            concurrency=concurrency_of(
                initial_policy(config),
                *(
                    [config.models.critic]
                    if part == "train" and settings.method == "revise"
                    else []
                ),
            ),
        )
        summary = run_critique(
            options,
            model=ctx.models.get(config.models.critic) if options.method == "revise" else None,
            policy_model=ctx.models.get(initial_policy(config)),
        )
        manifests[part] = summary.manifest.name
        metrics[part] = {
            "counts": summary.counts,
            "calls": summary.calls,
            "cache_hits": summary.cache_hits,
        }
        if options.method == "revise":  # how many revisions changed the answer, or copied
            metrics[part]["revisions"] = revision_counts(  # a worked example
                read_records(ctx.stage_dir / name, SFTRecord)
            )
    outputs = {"sft": "sft.jsonl", "manifest": manifests["train"]}
    if "helpful" in parts:
        files = [ctx.stage_dir / name for name, _, _ in parts.values()]
        concatenate_jsonl(files, ctx.stage_dir / "sft.jsonl")
        outputs.update({f"sft-{part}": name for part, (name, _, _) in parts.items()})
        outputs["manifest-helpful"] = manifests["helpful"]
        return StageResult(outputs=outputs, metrics=metrics)
    return StageResult(outputs=outputs, metrics=metrics["train"])


def _train(ctx: StageContext, algorithm: str, fields: dict[str, Any]) -> StageResult:
    settings = getattr(ctx.config.stages, "policy" if algorithm not in ("sft", "rm") else algorithm)
    config = {"seed": ctx.config.seed, **settings.config, **fields}
    config["output_dir"] = str(ctx.stage_dir / "model")
    if settings.accelerate_config:
        metrics = _train_with_accelerate(ctx, algorithm, config, settings)
    else:
        metrics = dict(run_training(algorithm, config).metrics)
    stopped = metrics.get("stopped_early")
    notes = [f"stopped early: {stopped}"] if stopped else []
    return StageResult(outputs={"model": "model"}, metrics=metrics, notes=notes)


def _train_with_accelerate(
    ctx: StageContext, algorithm: str, config: dict[str, Any], settings: Any
) -> dict[str, Any]:
    """Run ``rlaif train`` under ``accelerate launch`` and read back its metrics."""
    import subprocess
    import sys

    import yaml

    config_file = ctx.stage_dir / "train_config.yaml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(ctx.input_path(settings.accelerate_config)),
    ]
    if settings.num_processes:
        command += ["--num_processes", str(settings.num_processes)]
    command += ["-m", "rlaif", "train", algorithm, "--config", str(config_file)]
    if subprocess.run(command, check=False).returncode != 0:
        raise RlaifError(f"{algorithm} training under accelerate failed: {' '.join(command)}")
    metrics_file = Path(config["output_dir"]) / "metrics.json"
    return dict(json.loads(metrics_file.read_text(encoding="utf-8")))


def run_sft_stage(ctx: StageContext) -> StageResult:
    """Supervised fine-tuning of the policy on the final revisions."""
    return _train(
        ctx,
        "sft",
        {
            "model": ctx.config.models.policy.name,
            "dataset": str(ctx.upstream_output("critique", "sft")),
        },
    )


def run_sample_stage(ctx: StageContext) -> StageResult:
    """Sample K responses per training prompt from the (SFT) policy, and, when the judge labels
    the helpful prompts too (``strategy: judge`` with ``prompts.helpful``), per helpful prompt
    (``candidates-helpful.jsonl``)."""
    config, settings = ctx.config, ctx.config.stages.sample
    policy = current_policy(ctx)
    parts = {"train": ctx.input_path(config.prompts.train)}
    if config.prompts.helpful is not None and config.stages.label.strategy == "judge":
        parts["helpful"] = ctx.input_path(config.prompts.helpful)
    outputs: dict[str, str] = {}
    metrics: dict[str, Any] = {}
    for part, prompts in parts.items():
        name = "candidates.jsonl" if part == "train" else f"candidates-{part}.jsonl"
        summary = run_generate(
            GenerateOptions(
                model=policy.name,
                prompts=str(prompts),
                out=ctx.stage_dir / name,
                sampling=_sampling(settings.generation, settings.n, config.seed),
                limit=settings.limit,
                concurrency=concurrency_of(policy),
            ),
            model=ctx.models.get(policy),
        )
        outputs[name.removesuffix(".jsonl")] = name
        metrics[part] = {"counts": summary.counts, "calls": summary.calls}
    return StageResult(outputs=outputs, metrics=metrics if len(metrics) > 1 else metrics["train"])


def _measured_gate(ctx: StageContext) -> AgreementGate | None:
    """Measure the judge on human labels and return the gate its labelling run must pass (the
    label job checks it before any call); ``None`` when the stage sets no gate."""
    gate = ctx.config.stages.label.gate
    if gate.min_agreement is None and gate.min_consistency is None:
        return None
    loaded = None
    if gate.labels is not None and gate.pairs is not None:
        labels, pairs = ctx.input_path(gate.labels), ctx.input_path(gate.pairs)
        data: str | None = str(labels)
        loaded = human_labelled_pairs(
            labels,
            load_annotation_pairs(pairs, seed=gate.pairs_seed),
            pairs_source=str(pairs),
            limit=gate.limit,
            seed=ctx.config.seed,
        )
    else:
        data = ctx.labelled_data(gate.data)
    if data is None:
        raise ConfigError(
            "the label stage sets an agreement gate but no human-labelled data; give "
            "stages.label.gate.data (e.g. hh-harmless, the built-in suite) or labels and pairs"
        )
    judge = ctx.config.models.judge
    folder = ctx.stage_dir / "gate"
    run_agreement(
        [
            JudgeSpec(
                model=judge.name,
                mode=ctx.config.stages.label.mode,
                constitution=str(ctx.resolve_constitution()),
                seed=ctx.config.seed,
                principles_per_pair=ctx.config.principles_per_pair,
            )
        ],
        AgreementSettings(data=data, limit=gate.limit, seed=ctx.config.seed),
        out=folder,
        models={judge.name: ctx.models.get(judge)},
        loaded=loaded,
    )
    return AgreementGate(
        metrics=str(folder / "metrics.json"),
        min_agreement=gate.min_agreement,
        min_consistency=gate.min_consistency,
    )


def _label_once(
    ctx: StageContext,
    strategy: Strategy,
    out: Path,
    *,
    prompts: Path | None = None,
    constitution: str | Path | None = None,
    candidates: str = "candidates",
    limit: int | None = None,
    gate: AgreementGate | None = None,
) -> dict[str, Any]:
    """One labelling run into ``out``: contrastive pairs are sampled on ``prompts`` (default:
    the training prompts), the ``judge`` strategy reads the sample stage's ``candidates``
    output; judged under ``constitution`` (default: the run's), once the judge passes
    ``gate``."""
    config, settings = ctx.config, ctx.config.stages.label
    inputs: dict[str, Any] = {}
    policy: Model | None = None
    constitution = constitution or ctx.resolve_constitution()
    sampler = initial_policy(config) if settings.sample_from == "initial" else current_policy(ctx)
    if strategy == "judge":
        inputs["candidates"] = ctx.upstream_output("sample", candidates)
    elif strategy == "revision":
        sft_key = "sft-train" if ctx.has_output("critique", "sft-train") else "sft"
        inputs["sft"] = ctx.upstream_output("critique", sft_key)
    else:
        source = prompts or ctx.input_path(config.prompts.train)
        inputs.update(prompts=str(source), policy=sampler.name)
        policy = ctx.models.get(sampler)
    summary = run_labelling(
        LabelOptions(
            constitution=str(constitution),
            judge=config.models.judge.name,
            out=out,
            strategy=strategy,
            mode=settings.mode,
            confirm=settings.confirm and strategy != "judge",
            confirm_mode=settings.confirm_mode,
            sampling=_sampling(settings.generation, 1, config.seed),
            seed=config.seed,
            limit=limit or settings.limit,
            tie_margin=settings.tie_margin,
            principles_per_pair=config.principles_per_pair,
            position_prior=settings.position_prior,
            gate=gate,
            concurrency=concurrency_of(
                config.models.judge, *([sampler] if policy is not None else [])
            ),
            **inputs,
        ),
        judge_model=ctx.models.get(config.models.judge),
        policy_model=policy,
    )
    return {
        "counts": summary.counts,
        "calls": summary.calls,
        "cache_hits": summary.cache_hits,
        "consistency_rate": summary.consistency_rate,
        "confirmation_rate": summary.confirmation_rate,
        **({"gate": summary.gate} if summary.gate is not None else {}),
    }


def run_label_stage(ctx: StageContext) -> StageResult:
    """Build AI preference pairs with the chosen strategy (and any others asked for)."""
    settings = ctx.config.stages.label
    metrics: dict[str, Any] = {}
    gate = _measured_gate(ctx)
    outputs = {"preferences": "preferences.jsonl"}
    parts = _training_parts(ctx, "preferences")
    for part, (name, prompts, constitution) in parts.items():
        if part == "train":  # first: a judge below the gate stops the stage before any label
            labelled = _label_once(ctx, settings.strategy, ctx.stage_dir / name, gate=gate)
            if "gate" in labelled:
                metrics["gate"] = labelled.pop("gate")
            metrics[settings.strategy] = labelled
        elif settings.strategy == "judge":  # the helpful prompts' samples, judged under the
            metrics[part] = _label_once(  # helpfulness constitution
                ctx,
                "judge",
                ctx.stage_dir / name,
                constitution=constitution,
                candidates=f"candidates-{part}",
            )
        else:  # the helpful prompts: answer over refusal, under the helpfulness constitution
            metrics[part] = _label_once(
                ctx, "contrastive", ctx.stage_dir / name, prompts=prompts, constitution=constitution
            )
    if "helpful" in parts:  # the strategy's pairs and the helpful pairs, together
        files = [ctx.stage_dir / name for name, _, _ in parts.values()]
        concatenate_jsonl(files, ctx.stage_dir / outputs["preferences"])
        outputs.update({f"preferences-{part}": name for part, (name, _, _) in parts.items()})
    for extra in settings.also:
        if extra == settings.strategy:
            continue
        name = f"preferences-{extra}.jsonl"
        outputs[f"preferences-{extra}"] = name
        metrics[extra] = _label_once(ctx, extra, ctx.stage_dir / name, limit=settings.also_limit)
    return StageResult(outputs=outputs, metrics=metrics)


def run_rm_stage(ctx: StageContext) -> StageResult:
    """Train the reward model on the AI labels; report accuracy on held-out AI and human labels."""
    fields: dict[str, Any] = {
        "model": _model_path(ctx, "sft"),
        "dataset": str(ctx.upstream_output("label", "preferences")),
    }
    human = ctx.labelled_data(ctx.config.stages.eval.human_data)
    notes = []
    if human is None:
        notes.append(
            "no human-labelled data (stages.eval.human_data is null): reward-model "
            "accuracy on human labels skipped"
        )
    else:
        try:
            fields["human_eval"] = str(labelled_pairs_file(human, relative_to=ctx.config_dir))
            fields.setdefault("human_eval_limit", ctx.config.stages.eval.human_limit)
        except DataFileError as error:  # a hub or column-mapped suite: the eval stage reads it
            notes.append(f"reward-model accuracy on human labels skipped: {error}")
    result = _train(ctx, "rm", fields)
    result.notes.extend(notes)
    return result


def run_policy_stage(ctx: StageContext) -> StageResult:
    """PPO against the reward model, DPO on the pairs, or GRPO/RLOO."""
    algorithm = ctx.config.stages.policy.algorithm
    fields: dict[str, Any] = {"model": _model_path(ctx, "sft")}
    if algorithm == "dpo":
        fields["dataset"] = str(ctx.upstream_output("label", "preferences"))
    else:
        train = ctx.input_path(ctx.config.prompts.train)
        fields["dataset"] = str(train)
        if ctx.config.prompts.helpful is not None:  # rolled out on the helpful prompts too
            prompts = ctx.stage_dir / "prompts.jsonl"
            prompts.parent.mkdir(parents=True, exist_ok=True)
            concatenate_jsonl([train, ctx.input_path(ctx.config.prompts.helpful)], prompts)
            fields["dataset"] = str(prompts)
        if ctx.config.stages.policy.config.get("reward", "model") == "model":
            fields["reward_model"] = str(ctx.upstream_output("rm", "model").resolve())
    return _train(ctx, algorithm, fields)


def validate_training_sections(config: PipelineConfig) -> None:
    """Check each training stage's ``config`` against its algorithm's config class now, so a
    typo fails at load (and in ``--dry-run``), not hours into a run."""
    from pydantic import ValidationError

    placeholders = {"model": "model", "dataset": "data.jsonl", "output_dir": "out"}
    sections = {"sft": config.stages.sft, "rm": config.stages.rm, "policy": config.stages.policy}
    for stage, section in sections.items():
        if not section.enabled:
            continue
        algorithm = config.stages.policy.algorithm if stage == "policy" else stage
        fields = {**placeholders, **section.config}
        if (
            algorithm in ("ppo", "grpo", "rloo")
            and section.config.get("reward", "model") == "model"
        ):
            fields.setdefault("reward_model", "reward_model")
        try:
            config_class(algorithm).model_validate(fields)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise ConfigError(
                f"stages.{stage}.config is not a valid {algorithm} config: {problems}"
            ) from None

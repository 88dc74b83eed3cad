"""The eval stage: the trained policy against the initial one, the judge against humans, and
the run's summary table (:mod:`rlaif.pipeline.run_summary`)."""

from __future__ import annotations

import json
from typing import Any

from rlaif.eval.agreement import AgreementSettings, JudgeSpec, run_agreement
from rlaif.eval.policy import PolicyEvalSettings, run_policy_eval
from rlaif.pipeline.config import PipelineConfig
from rlaif.pipeline.context import StageContext, StageResult
from rlaif.pipeline.run_summary import (
    SUMMARY_JSON,
    SUMMARY_MD,
    agreement_rows,
    format_summary,
    label_rows,
    policy_rows,
    revision_rows,
    reward_model_rows,
)
from rlaif.pipeline.stages import concurrency_of, current_policy, initial_policy


def _policy_settings(ctx: StageContext) -> PolicyEvalSettings:
    config, settings = ctx.config, ctx.config.stages.eval
    return PolicyEvalSettings(
        prompts=[
            str(ctx.input_path(config.prompts.test)),
            str(ctx.input_path(config.prompts.benign)),
        ],
        judge=config.models.judge.name,
        constitution=str(ctx.resolve_constitution()),
        group_constitutions={"benign": str(ctx.resolve_helpfulness_constitution())},
        concurrency=concurrency_of(config.models.policy, config.models.judge) or 8,
        max_tokens=settings.generation.max_tokens,
        temperature=settings.generation.temperature,
        limit=settings.prompt_limit,
        judge_limit=settings.judge_limit,
        seed=config.seed,
        principles_per_pair=config.principles_per_pair,
        reward_model=(
            str(ctx.upstream_output("rm", "model"))
            if settings.reward_scores and ctx.has_output("rm", "model")
            else None
        ),
    )


def _judge_spec(ctx: StageContext) -> JudgeSpec:
    config = ctx.config
    return JudgeSpec(
        model=config.models.judge.name,
        mode=config.stages.label.mode,
        label=config.models.judge.name,
        constitution=str(ctx.resolve_constitution()),
        seed=config.seed,
        principles_per_pair=config.principles_per_pair,
    )


def evaluator_note(config: PipelineConfig) -> str | None:
    """A warning when the model that rates the policy is the one whose verdicts chose the
    training labels (so its rows are not an independent check), or a note on how it took part."""
    judge, label = config.models.judge.name, config.stages.label
    if not label.enabled:
        return None
    strategies = {label.strategy, *label.also}
    if label.strategy == "judge" or (label.confirm and label.confirm_mode == "filter"):
        return (
            f"warning: the judge-rated rows come from {judge}, the same model whose verdicts "
            "chose the training labels; they are not an independent check (the lexical rule is)"
        )
    if label.confirm and strategies & {"contrastive", "revision"}:
        return (
            f"the judge-rated rows come from {judge}, which audited the training pairs but did "
            f"not choose their labels ({label.strategy} pairs are labelled by construction)"
        )
    return None


def run_eval_stage(ctx: StageContext) -> StageResult:
    """Evaluate the trained policy against the initial one and the judge against humans, then
    write ``summary.json`` and ``summary.md``."""
    config, settings = ctx.config, ctx.config.stages.eval
    initial = initial_policy(config)
    trained = current_policy(ctx, after=("sft", "policy"))
    judge = config.models.judge
    notes: list[str] = []
    summary: dict[str, Any] = {"run": config.name, "policy_before": initial.name}
    summary["policy_after"] = trained.name
    outputs: dict[str, str] = {"summary": SUMMARY_JSON, "summary_md": SUMMARY_MD}
    if trained.name == initial.name:
        notes.append("no trained policy in this run: before and after are the same model")
    else:
        policy_metrics = run_policy_eval(
            [trained.name],
            initial.name,
            _policy_settings(ctx),
            ctx.stage_dir / "policy",
            models={
                trained.name: ctx.models.get(trained),
                initial.name: ctx.models.get(initial),
                judge.name: ctx.models.get(judge),
            },
        )
        summary["policy"] = policy_rows(policy_metrics, initial.name, trained.name)
        note = evaluator_note(config)
        if note:
            notes.append(note)
        outputs["policy_report"] = "policy/report.html"
    human = ctx.labelled_data(settings.human_data)
    if human is None:
        notes.append("no human-labelled data (stages.eval.human_data is null): agreement skipped")
    elif not settings.judge_agreement:
        notes.append(
            "judge agreement with human labels not measured (stages.eval.judge_agreement: "
            "false); `rlaif eval agreement` measures it"
        )
    else:
        run = run_agreement(
            [_judge_spec(ctx)],
            AgreementSettings(
                data=human,
                limit=settings.human_limit,
                seed=config.seed,
                concurrency=concurrency_of(judge) or 8,
            ),
            out=ctx.stage_dir / "agreement",
            models={judge.name: ctx.models.get(judge)},
        )
        summary["agreement"] = agreement_rows(run.metrics, judge.name)
        outputs["agreement_report"] = "agreement/report.html"
    summary["reward_model"] = (
        reward_model_rows(ctx.upstream("rm").metrics) if ctx.has_output("rm", "model") else {}
    )
    summary["labels"] = (
        label_rows(ctx.upstream("label").metrics) if ctx.has_output("label", "preferences") else {}
    )
    summary["revisions"] = (
        revision_rows(ctx.upstream("critique").metrics) if ctx.has_output("critique", "sft") else {}
    )
    summary["notes"] = notes
    (ctx.stage_dir / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    (ctx.stage_dir / SUMMARY_MD).write_text(format_summary(summary) + "\n")
    return StageResult(outputs=outputs, metrics=summary, notes=notes)

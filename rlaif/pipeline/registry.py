"""The built-in stages: what each runs, which models and inputs shape it, when it is active."""

from __future__ import annotations

from collections.abc import Mapping

from rlaif.pipeline import stages
from rlaif.pipeline.config import PipelineConfig
from rlaif.pipeline.context import StageContext, StageFunction
from rlaif.pipeline.dry_run import planned_calls
from rlaif.pipeline.eval_stage import run_eval_stage
from rlaif.pipeline.runner import StageSpec


def _strategies(config: PipelineConfig) -> set[str]:
    return {config.stages.label.strategy, *config.stages.label.also}


def _shared_judging(config: PipelineConfig) -> object:
    """Run-level settings that shape generation and judging outputs."""
    generation = config.models.policy_generation
    return {
        "principles_per_pair": config.principles_per_pair,
        "policy_generation": generation.model_dump(mode="json") if generation else None,
    }


def _estimate(name: str):
    def estimate(context: StageContext, prompt_counts: Mapping[str, int]) -> dict[str, int]:
        return planned_calls(context, prompt_counts).get(name, {})

    return estimate


def _judging_stage(name: str, run: StageFunction, roles: tuple[str, ...]) -> StageSpec:
    """A stage whose models judge or revise under the constitution, over the training and
    helpfulness prompts (``critique``, ``label``)."""
    return StageSpec(
        extra_inputs=_shared_judging,
        run=run,
        roles=roles,
        uses_constitution=True,
        prompt_sets=("train", "helpful"),
        estimate=_estimate(name),
    )


STAGES: dict[str, StageSpec] = {
    "critique": _judging_stage("critique", stages.run_critique_stage, ("policy", "critic")),
    "sft": StageSpec(
        run=stages.run_sft_stage,
        roles=("policy",),
        active=lambda config: config.stages.critique.enabled,
    ),
    "sample": StageSpec(
        run=stages.run_sample_stage,
        roles=("policy",),
        prompt_sets=("train",),
        active=lambda config: "judge" in _strategies(config),
        estimate=_estimate("sample"),
    ),
    "label": _judging_stage("label", stages.run_label_stage, ("policy", "critic", "judge")),
    "rm": StageSpec(
        run=stages.run_rm_stage,
        roles=("policy",),
        extra_inputs=lambda config: (config.stages.eval.human_data, config.stages.eval.human_limit),
    ),
    "policy": StageSpec(
        run=stages.run_policy_stage, roles=("policy",), prompt_sets=("train", "helpful")
    ),
    "eval": StageSpec(
        extra_inputs=_shared_judging,
        run=run_eval_stage,
        roles=("policy", "judge"),
        uses_constitution=True,
        prompt_sets=("test", "benign"),
        estimate=_estimate("eval"),
    ),
}
"""Stage name → how the runner treats it."""

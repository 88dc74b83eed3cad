"""``rlaif generate``: sample K responses per prompt into a candidates file, resumably.

Prompts already written are skipped, failures go to a ``*.skipped.jsonl`` side file, and a
manifest records the settings (a rerun with other settings is refused).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from pydantic import Field

from rlaif.data.loaders import load_prompts
from rlaif.data.records import CandidateRecord, PromptRecord, SkippedRecord
from rlaif.datagen.run_options import (
    CheckedSampling,
    JobOptions,
    OutputFile,
    resume_settings,
)
from rlaif.judge.sampling import SamplingSettings, sample_responses
from rlaif.models import Model, blocking
from rlaif.runs import CallFailure, Outputs, ResumableJob, RunSummary, Unit, attempt, open_model


class GenerateOptions(JobOptions):
    """Everything ``rlaif generate`` needs."""

    model_roles = ("model",)
    input_options = ("prompts",)

    model: str
    """``provider/model`` of the policy."""
    model_options: dict[str, Any] = Field(default_factory=dict)
    """Options of ``model``: :class:`~rlaif.models.ModelSpec` fields or backend options
    (``base_url``, ``max_concurrency``, ``timeout_s``, ...), as ``get_model(model, **options)``."""
    prompts: str
    """Prompt set: a path or a built-in name (``red_team_train``, ...)."""
    out: OutputFile
    """Candidates file to write (``{"id", "prompt", "responses", "model"}`` per line)."""
    sampling: CheckedSampling = Field(default_factory=SamplingSettings)
    """K, temperature, token budget and seed."""


def skipped_prompt(prompt: PromptRecord, reason: str, strategy: str) -> SkippedRecord:
    """The skipped-file record of a prompt that failed, with why."""
    return SkippedRecord(id=prompt.id, prompt=prompt.prompt, reason=reason, strategy=strategy)


async def run_generate_async(options: GenerateOptions, *, model: Model | None = None) -> RunSummary:
    """Sample ``sampling.n`` responses per prompt into ``out`` (resumable); ``model`` replaces the
    one named in ``options`` (the caller keeps it open)."""
    prompts = load_prompts(options.prompts)[: options.limit]
    settings = resume_settings(
        options, {"out", "concurrency", "progress", "limit"}, model=options.model
    )
    job = ResumableJob(
        options.out,
        "candidates",
        description="generate",
        progress=options.progress,
        judgments=False,
    )
    async with AsyncExitStack() as owned:
        policy = await open_model(owned, model, options.model, **options.model_options)

        async def work(unit: Unit) -> Outputs:
            prompt: PromptRecord = unit.payload
            completions = await attempt(
                sample_responses(policy, prompt.prompt, prompt.id, options.sampling)
            )
            if isinstance(completions, CallFailure):  # recorded, and the run goes on
                reason = f"failed: {completions}"
                return Outputs(records=[skipped_prompt(prompt, reason, "generate")])
            record = CandidateRecord(
                id=prompt.id,
                prompt=prompt.prompt,
                responses=[c.text for c in completions],
                model=options.model,
                metadata={
                    "category": prompt.category,
                    "finish_reasons": [c.finish_reason for c in completions],
                    "temperature": options.sampling.temperature,
                },
            )
            return Outputs(records=[record])

        units = [Unit([p.id], p) for p in prompts]
        await job.run(
            units, work, settings=settings, concurrency=options.concurrency, policy=options.model
        )
    return job.summary(units=len(prompts))


run_generate = blocking(run_generate_async)

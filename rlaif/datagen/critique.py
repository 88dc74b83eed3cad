"""``rlaif critique``: one SFT record per prompt, resumably, by one of two methods.

``revise`` (CAI's supervised stage): the critic critiques and revises the policy's response. Give
prompts (the policy answers first) or an ``rlaif generate`` candidates file (the first response of
each line is critiqued).

``distill`` (context distillation): no critic; the policy answers each prompt steered towards a
principle by the constitution's ``contrast`` (its positive side: a system prompt and/or a prefilled
opening), and that answer, shown after the bare prompt, is the SFT target. A reply that
``max_tokens`` cut off is trimmed back to its last complete sentence.

Prompts already written are skipped, failures go to a ``*.skipped.jsonl`` side file (with the
partial record), and a manifest records the settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Literal

from pydantic import Field, model_validator

from rlaif.constitution import Constitution, load_constitution
from rlaif.data.loaders import load_candidates, load_prompts
from rlaif.data.publish import push_to_hub, write_parquet
from rlaif.data.records import PromptRecord
from rlaif.datagen.distill import distilled_record
from rlaif.datagen.generate import skipped_prompt
from rlaif.datagen.run_options import (
    CheckedSampling,
    DatasetJobOptions,
    InputFile,
    OutputFile,
    output_paths,
    resume_settings,
)
from rlaif.errors import ConfigError
from rlaif.judge.critic import Critic
from rlaif.judge.sampling import SamplingSettings, sample_responses
from rlaif.judge.strategies import metadata_category
from rlaif.models import Model, blocking
from rlaif.runs import CallFailure, Outputs, ResumableJob, RunSummary, Unit, attempt, open_model


class CritiqueOptions(DatasetJobOptions):
    """Everything ``rlaif critique`` needs. Give ``prompts`` (the policy answers first) or
    ``candidates`` (the first response of each line is critiqued)."""

    model_roles = ("model", "policy")
    input_options = ("prompts", "candidates")

    constitution: str
    """Built-in constitution name or YAML path."""
    model: str | None = None
    """``provider/model`` that writes critiques and revisions (``revise``; not used by
    ``distill``)."""
    method: Literal["revise", "distill"] = "revise"
    """``revise``: the critic critiques and revises the policy's response. ``distill``: the
    policy's answer steered by the constitution's ``contrast`` is the target; no critic."""
    model_options: dict[str, Any] = Field(default_factory=dict)
    """Options of ``model``: :class:`~rlaif.models.ModelSpec` fields or backend options
    (``base_url``, ``max_concurrency``, ``timeout_s``, ...), as ``get_model(model, **options)``."""
    out: OutputFile
    """SFT file to write."""
    prompts: str | None = None
    """Prompt set (path or built-in name)."""
    candidates: InputFile | None = None
    """``rlaif generate`` output; the first response of each line is critiqued."""
    policy: str | None = None
    """``provider/model`` giving the initial responses for ``prompts`` (default: ``model``)."""
    policy_options: dict[str, Any] = Field(default_factory=dict)
    """Options of ``policy`` (as ``model_options``; with no ``policy``, ``model``'s are used)."""
    rounds: int | None = Field(default=None, ge=1)
    """Rounds per prompt (default: the constitution's)."""
    seed: int = 0
    """Seeds principle sampling."""
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature of critiques and revisions."""
    max_tokens: int = Field(default=256, ge=1)
    """Token budget of each critique and revision."""
    sampling: CheckedSampling = Field(default_factory=lambda: SamplingSettings(n=1))
    """How the policy samples the initial response (``n`` is always 1)."""

    @model_validator(mode="after")
    def _models(self) -> CritiqueOptions:
        if self.method == "revise" and not self.model:
            raise ConfigError("critique-and-revise needs the critic: give --model")
        if self.method == "distill" and not (self.policy or self.model):
            raise ConfigError("distill needs the policy that answers: give --policy")
        if self.method == "distill" and self.candidates is not None:
            raise ConfigError("distill answers prompts itself: give --prompts, not --candidates")
        return self


def _prompts_and_initial(options: CritiqueOptions) -> tuple[list[PromptRecord], dict[str, str]]:
    """The prompts to critique and, for a candidates input, their initial responses."""
    if (options.prompts is None) == (options.candidates is None):
        raise ConfigError("give exactly one input: --prompts or --candidates")
    if options.candidates is None:
        return load_prompts(options.prompts)[: options.limit], {}  # type: ignore[arg-type]
    candidates = load_candidates(options.candidates)[: options.limit]
    prompts = [
        PromptRecord(id=c.id, prompt=c.prompt, category=metadata_category(c.metadata))
        for c in candidates
    ]
    return prompts, {c.id: c.responses[0] for c in candidates if c.responses}


async def run_critique_async(
    options: CritiqueOptions, *, model: Model | None = None, policy_model: Model | None = None
) -> RunSummary:
    """One SFT record per prompt into an SFT file (resumable), by ``options.method``;
    ``model``/``policy_model`` replace the models named in ``options`` (the caller keeps them
    open)."""
    prompts, initial = _prompts_and_initial(options)
    constitution = load_constitution(options.constitution)
    out, parquet_copy = output_paths(options.out, options.format)
    settings = resume_settings(
        options,
        {"out", "concurrency", "format", "push_to_hub", "progress", "limit"},
        model=options.model,
        policy=options.policy,
    )
    settings["constitution_hash"] = constitution.content_hash()
    job = ResumableJob(
        out,
        "sft",
        description=options.method,
        progress=options.progress,
        judgments=False,
        copies=[parquet_copy] if parquet_copy else [],
    )
    one = options.sampling.model_copy(update={"n": 1})
    policy_name = str(options.policy or options.model)  # the options' validator checked one
    async with AsyncExitStack() as owned:
        if options.method == "distill":
            policy = await open_model(owned, policy_model, policy_name, **options.policy_options)
            work = _distill_worker(policy, constitution, one, options.seed)
        else:
            critic_name = str(options.model)
            critic_model = await open_model(owned, model, critic_name, **options.model_options)
            reuse = options.policy is None or (
                options.policy == options.model and not options.policy_options
            )
            if policy_model is None and reuse:
                policy = critic_model
            else:
                policy = await open_model(
                    owned, policy_model, policy_name, **options.policy_options
                )
            critic = Critic(
                critic_model,
                constitution,
                rounds=options.rounds,
                seed=options.seed,
                temperature=options.temperature,
                max_tokens=options.max_tokens,
                max_prompt_chars=options.max_prompt_chars,
            )
            settings["rounds"] = critic.rounds
            work = _revise_worker(critic, policy, initial, one)
        await job.run(
            [Unit([p.id], p) for p in prompts],
            work,
            settings=settings,
            concurrency=options.concurrency,
            constitution=constitution.provenance(),
            judge=options.model if options.method == "revise" else None,
            policy=options.policy or (options.model if options.prompts else None),
        )
    parquet = write_parquet(out, "sft") if parquet_copy else None
    if options.push_to_hub:
        push_to_hub(out, options.push_to_hub, kind="sft")
    return job.summary(units=len(prompts), parquet=parquet)


def _distill_worker(
    policy: Model,
    constitution: Constitution,
    sampling: SamplingSettings,
    seed: int,
) -> Callable[[Unit], Awaitable[Outputs]]:
    """The worker of the ``distill`` method: one steered policy answer per prompt."""

    async def work(unit: Unit) -> Outputs:
        record = await distilled_record(policy, unit.payload, constitution, sampling, seed)
        return Outputs(records=[record])

    return work


def _revise_worker(
    critic: Critic,
    policy: Model,
    initial: dict[str, str],
    sampling: SamplingSettings,
) -> Callable[[Unit], Awaitable[Outputs]]:
    """The worker of the ``revise`` method: the policy's answer (or the given one), critiqued
    and revised."""

    async def work(unit: Unit) -> Outputs:
        prompt: PromptRecord = unit.payload
        response = initial.get(prompt.id)
        if response is None:
            completions = await attempt(
                sample_responses(policy, prompt.prompt, prompt.id, sampling)
            )
            if isinstance(completions, CallFailure):  # recorded, and the run goes on
                reason = f"failed: initial response: {completions}"
                return Outputs(records=[skipped_prompt(prompt, reason, "critique")])
            response = completions[0].text
        record = await critic.run(
            prompt.prompt, response, prompt_id=prompt.id, category=prompt.category or None
        )
        if "error" in record.metadata:
            skipped = skipped_prompt(prompt, f"failed: {record.metadata['error']}", "critique")
            skipped.response_1 = response
            skipped.metadata = {"partial": record.model_dump(mode="json")}
            return Outputs(records=[skipped])
        return Outputs(records=[record])

    return work


run_critique = blocking(run_critique_async)

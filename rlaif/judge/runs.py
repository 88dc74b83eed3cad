"""``rlaif generate`` and ``rlaif critique`` as resumable runs.

:func:`run_generate` samples K responses per prompt into a candidates file;
:func:`run_critique` runs critique-and-revise into an SFT file. Both skip prompts already
written, keep failures in a ``*.skipped.jsonl`` side file and write a manifest.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rlaif.constitution import load_constitution
from rlaif.data.loaders import load_candidates, load_prompts
from rlaif.data.records import CandidateRecord, PromptRecord, SkippedRecord
from rlaif.errors import ConfigError
from rlaif.judge.critic import Critic
from rlaif.judge.progress import LabelProgress
from rlaif.judge.runner import (
    Outputs,
    Sink,
    Unit,
    begin_manifest,
    constitution_info,
    end_manifest,
    run_units,
)
from rlaif.judge.sampling import SamplingSettings, sample_responses
from rlaif.judge.strategies import metadata_category
from rlaif.models import Model, get_model


class RunSummary(BaseModel):
    """What a generate or critique run did."""

    out: Path
    """The output file."""
    manifest: Path
    """Its manifest."""
    counts: dict[str, int]
    """Records and skipped items, over every run into ``out``."""
    units: int
    """Prompts in the input."""
    already_done: int
    """Prompts finished by an earlier run and not redone."""
    calls: int
    """Model calls this run (cache hits included)."""
    cache_hits: int
    """Calls served from the response cache."""
    parquet: Path | None = None
    """The Parquet copy, when asked for."""


class GenerateOptions(BaseModel):
    """Everything ``rlaif generate`` needs."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    model: str
    """``provider/model`` of the policy."""
    prompts: str
    """Prompt set: a path or a built-in name (``red_team_train``, ...)."""
    out: Path
    """Candidates file to write (``{"id", "prompt", "responses", "model"}`` per line)."""
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    """K, temperature, token budget and seed."""
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N prompts."""
    concurrency: int = Field(default=8, ge=1)
    """Prompts in flight at once."""
    progress: bool = True
    """Draw a progress bar."""


def _skipped(prompt: PromptRecord, reason: str, strategy: str) -> SkippedRecord:
    return SkippedRecord(id=prompt.id, prompt=prompt.prompt, reason=reason, strategy=strategy)


def run_generate(options: GenerateOptions, *, model: Model | None = None) -> RunSummary:
    """Sample ``sampling.n`` responses per prompt into ``out`` (resumable)."""
    return asyncio.run(arun_generate(options, model=model))


async def arun_generate(options: GenerateOptions, *, model: Model | None = None) -> RunSummary:
    """Async :func:`run_generate`."""
    policy = model or get_model(options.model)
    prompts = load_prompts(options.prompts)[: options.limit]
    settings = options.model_dump(mode="json", exclude={"out", "concurrency", "progress", "limit"})
    manifest = begin_manifest(options.out, "candidates", settings, policy=options.model)
    bar = LabelProgress(len(prompts), "generate", enabled=options.progress)

    async def work(unit: Unit) -> Outputs:
        prompt: PromptRecord = unit.payload
        try:
            completions = await sample_responses(policy, prompt.prompt, prompt.id, options.sampling)
        except Exception as error:  # recorded, and the run goes on
            reason = f"failed: {type(error).__name__}: {error}"
            return Outputs(records=[_skipped(prompt, reason, "generate")])
        bar.add_calls(len(completions), sum(int(c.cached) for c in completions))
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

    sink = Sink(options.out, judgments=False)
    try:
        with bar:
            units = [Unit([p.id], p) for p in prompts]
            already = await run_units(units, work, sink, concurrency=options.concurrency, bar=bar)
        manifest_file = end_manifest(manifest, sink, bar)
    finally:
        sink.close()
        if model is None:
            await policy.aclose()
    return RunSummary(
        out=options.out,
        manifest=manifest_file,
        counts=manifest.counts,
        units=len(prompts),
        already_done=already,
        calls=bar.calls,
        cache_hits=bar.cache_hits,
    )


class CritiqueOptions(BaseModel):
    """Everything ``rlaif critique`` needs. Give ``prompts`` (the policy answers first) or
    ``candidates`` (the first response of each line is critiqued)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    constitution: str
    """Built-in constitution name or YAML path."""
    model: str
    """``provider/model`` that writes critiques and revisions."""
    out: Path
    """SFT file to write."""
    prompts: str | None = None
    """Prompt set (path or built-in name)."""
    candidates: Path | None = None
    """``rlaif generate`` output; the first response of each line is critiqued."""
    policy: str | None = None
    """``provider/model`` giving the initial responses for ``prompts`` (default: ``model``)."""
    rounds: int | None = None
    """Rounds per prompt (default: the constitution's)."""
    seed: int = 0
    """Seeds principle sampling."""
    temperature: float = 0.0
    """Sampling temperature of critiques and revisions."""
    max_tokens: int = Field(default=256, ge=1)
    """Token budget of each critique and revision."""
    sampling: SamplingSettings = Field(default_factory=lambda: SamplingSettings(n=1))
    """How the policy samples the initial response (``n`` is always 1)."""
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N prompts."""
    concurrency: int = Field(default=8, ge=1)
    """Prompts in flight at once."""
    format: Literal["jsonl", "parquet"] = "jsonl"
    """Also write a Parquet copy when the run completes."""
    push_to_hub: str | None = None
    """Hub dataset repo to upload the finished file to."""
    progress: bool = True
    """Draw a progress bar."""


def run_critique(
    options: CritiqueOptions, *, model: Model | None = None, policy_model: Model | None = None
) -> RunSummary:
    """Critique and revise one response per prompt into an SFT file (resumable)."""
    return asyncio.run(arun_critique(options, model=model, policy_model=policy_model))


async def arun_critique(
    options: CritiqueOptions, *, model: Model | None = None, policy_model: Model | None = None
) -> RunSummary:
    """Async :func:`run_critique`."""
    from rlaif.data.publish import push_to_hub, write_parquet

    if (options.prompts is None) == (options.candidates is None):
        raise ConfigError("give exactly one input: --prompts or --candidates")
    constitution = load_constitution(options.constitution)
    critic_model = model or get_model(options.model)
    policy = policy_model or (
        critic_model if options.policy in (None, options.model) else get_model(options.policy)
    )
    critic = Critic(
        critic_model,
        constitution,
        rounds=options.rounds,
        seed=options.seed,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
    )
    initial: dict[str, str] = {}
    if options.candidates is not None:
        candidates = load_candidates(options.candidates)[: options.limit]
        prompts = [
            PromptRecord(id=c.id, prompt=c.prompt, category=metadata_category(c.metadata))
            for c in candidates
        ]
        initial = {c.id: c.responses[0] for c in candidates if c.responses}
    else:
        prompts = load_prompts(options.prompts)[: options.limit]  # type: ignore[arg-type]
    out = options.out.with_suffix(".jsonl") if options.out.suffix == ".parquet" else options.out
    settings = options.model_dump(
        mode="json", exclude={"out", "concurrency", "format", "push_to_hub", "progress", "limit"}
    )
    settings["constitution_hash"] = constitution.content_hash()
    settings["rounds"] = critic.rounds
    manifest = begin_manifest(
        out,
        "sft",
        settings,
        constitution=constitution_info(constitution),
        judge=options.model,
        policy=options.policy or (options.model if options.prompts else None),
    )
    bar = LabelProgress(len(prompts), "critique", enabled=options.progress)
    one = options.sampling.model_copy(update={"n": 1})

    async def work(unit: Unit) -> Outputs:
        prompt: PromptRecord = unit.payload
        response = initial.get(prompt.id)
        if response is None:
            try:
                completions = await sample_responses(policy, prompt.prompt, prompt.id, one)
            except Exception as error:  # recorded, and the run goes on
                reason = f"failed: initial response: {type(error).__name__}: {error}"
                return Outputs(records=[_skipped(prompt, reason, "critique")])
            response = completions[0].text
            bar.add_calls(1, int(completions[0].cached))
        record = await critic.run(
            prompt.prompt, response, prompt_id=prompt.id, category=prompt.category or None
        )
        usage = record.metadata.get("usage", {})
        bar.add_calls(usage.get("calls", 0), usage.get("cache_hits", 0), usage.get("cost"))
        if "error" in record.metadata:
            reason = f"failed: {record.metadata['error']}"
            skipped = _skipped(prompt, reason, "critique")
            skipped.response_1 = response
            skipped.metadata = {"partial": record.model_dump(mode="json")}
            return Outputs(records=[skipped])
        return Outputs(records=[record])

    sink = Sink(out, judgments=False)
    try:
        with bar:
            units = [Unit([p.id], p) for p in prompts]
            already = await run_units(units, work, sink, concurrency=options.concurrency, bar=bar)
        manifest_file = end_manifest(manifest, sink, bar)
    finally:
        sink.close()
        if model is None:
            await critic_model.aclose()
        if policy_model is None and policy is not critic_model:
            await policy.aclose()
    parquet = None
    if options.format == "parquet" or options.out.suffix == ".parquet":
        parquet = write_parquet(out, "sft")
    if options.push_to_hub:
        push_to_hub(out, options.push_to_hub, kind="sft")
    return RunSummary(
        out=out,
        manifest=manifest_file,
        counts=manifest.counts,
        units=len(prompts),
        already_done=already,
        calls=bar.calls,
        cache_hits=bar.cache_hits,
        parquet=parquet,
    )

"""``rlaif critique``: critique and revise one response per prompt into an SFT file, resumably.

Give prompts (the policy answers first) or an ``rlaif generate`` candidates file (the first
response of each line is critiqued). Prompts already written are skipped, failures go to a
``*.skipped.jsonl`` side file (with the partial record), and a manifest records the settings.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rlaif.constitution import load_constitution
from rlaif.data.loaders import load_candidates, load_prompts
from rlaif.data.publish import push_to_hub, write_parquet
from rlaif.data.records import PromptRecord
from rlaif.datagen.generate import skipped_prompt
from rlaif.datagen.run_options import (
    DEFAULT_CONCURRENCY,
    CheckedSampling,
    InputFile,
    OutputFile,
    check_models,
    default_concurrency,
    resume_settings,
)
from rlaif.errors import ConfigError
from rlaif.judge.critic import Critic
from rlaif.judge.sampling import SamplingSettings, sample_responses
from rlaif.judge.strategies import metadata_category
from rlaif.models import AuthenticationError, Model, blocking
from rlaif.runs import Outputs, ResumableJob, RunSummary, Unit, open_model


class CritiqueOptions(BaseModel):
    """Everything ``rlaif critique`` needs. Give ``prompts`` (the policy answers first) or
    ``candidates`` (the first response of each line is critiqued)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    constitution: str
    """Built-in constitution name or YAML path."""
    model: str
    """``provider/model`` that writes critiques and revisions."""
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
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N prompts."""
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1)
    """Prompts in flight at once (``None``: the largest ``max_concurrency`` among the models'
    options, else 8)."""
    format: Literal["jsonl", "parquet"] = "jsonl"
    """Also write a Parquet copy when the run completes."""
    push_to_hub: str | None = None
    """Hub dataset repo to upload the finished file to."""
    progress: bool = True
    """Draw a progress bar."""

    _concurrency = model_validator(mode="before")(default_concurrency("model", "policy"))

    @model_validator(mode="after")
    def _models(self) -> CritiqueOptions:
        check_models(self, "model", "policy")
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
    """Critique and revise one response per prompt into an SFT file (resumable);
    ``model``/``policy_model`` replace the models named in ``options`` (the caller keeps them
    open)."""
    prompts, initial = _prompts_and_initial(options)
    constitution = load_constitution(options.constitution)
    out = options.out.with_suffix(".jsonl") if options.out.suffix == ".parquet" else options.out
    settings = resume_settings(
        options,
        {"out", "concurrency", "format", "push_to_hub", "progress", "limit"},
        model=options.model,
        policy=options.policy,
    )
    settings["constitution_hash"] = constitution.content_hash()
    job = ResumableJob(
        out, "sft", description="critique", progress=options.progress, judgments=False
    )
    one = options.sampling.model_copy(update={"n": 1})
    async with AsyncExitStack() as owned:
        critic_model = await open_model(owned, model, options.model, **options.model_options)
        reuse = options.policy is None or (
            options.policy == options.model and not options.policy_options
        )
        if policy_model is None and reuse:
            policy = critic_model
        else:
            policy = await open_model(
                owned, policy_model, options.policy or options.model, **options.policy_options
            )
        critic = Critic(
            critic_model,
            constitution,
            rounds=options.rounds,
            seed=options.seed,
            temperature=options.temperature,
            max_tokens=options.max_tokens,
        )
        settings["rounds"] = critic.rounds

        async def work(unit: Unit) -> Outputs:
            prompt: PromptRecord = unit.payload
            response = initial.get(prompt.id)
            if response is None:
                try:
                    completions = await sample_responses(policy, prompt.prompt, prompt.id, one)
                except AuthenticationError:  # refused credentials stop the whole run
                    raise
                except Exception as error:  # recorded, and the run goes on
                    reason = f"failed: initial response: {type(error).__name__}: {error}"
                    return Outputs(records=[skipped_prompt(prompt, reason, "critique")])
                response = completions[0].text
                job.progress.add_calls(1, int(completions[0].cached))
            record = await critic.run(
                prompt.prompt, response, prompt_id=prompt.id, category=prompt.category or None
            )
            usage = record.metadata.get("usage", {})
            job.progress.add_calls(
                usage.get("calls", 0), usage.get("cache_hits", 0), usage.get("cost")
            )
            if "error" in record.metadata:
                skipped = skipped_prompt(prompt, f"failed: {record.metadata['error']}", "critique")
                skipped.response_1 = response
                skipped.metadata = {"partial": record.model_dump(mode="json")}
                return Outputs(records=[skipped])
            return Outputs(records=[record])

        await job.run(
            [Unit([p.id], p) for p in prompts],
            work,
            settings=settings,
            concurrency=options.concurrency,
            constitution=constitution.provenance(),
            judge=options.model,
            policy=options.policy or (options.model if options.prompts else None),
        )
    parquet = None
    if options.format == "parquet" or options.out.suffix == ".parquet":
        parquet = write_parquet(out, "sft")
    if options.push_to_hub:
        push_to_hub(out, options.push_to_hub, kind="sft")
    return job.summary(units=len(prompts), parquet=parquet)


run_critique = blocking(run_critique_async)

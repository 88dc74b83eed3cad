"""``rlaif run --dry-run``: what the planned stages would spend, in the table every dry run prints.

A stage's inputs do not exist before the stages ahead of it have run (the SFT policy writes the
label stage's responses, the trained policy the evaluation's), so the stage jobs cannot run
against stand-in answers the way ``rlaif label --dry-run`` runs its job
(:mod:`rlaif.datagen.dry_run`). Here the calls per stage and role come from the plan
(:func:`planned_calls`: upper bounds, cache hits are not known before a stage runs), and each
call's prompt tokens are the mean over requests that role would send: the first
:data:`SAMPLED_PROMPTS` prompts of each of the stage's prompt sets, every response in them a
stand-in of the stage's ``max_tokens``, rendered through the constitution's templates and counted
with the model's tokenizer (characters / 4 for a model without one here). Output tokens are
``max_tokens`` a generation, 1 a scored verdict. Time and dollars come from the same
:class:`~rlaif.models.dry_run.CallEstimator` as every other dry run.

What it leaves out, so the tokens are an estimate, not a bound: the RLCD steering text of
contrastive generations (a sentence a call), and the wording of the evaluation's refusal checks
and helpfulness comparisons (counted as comparisons under the run's constitution).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import fmean
from types import SimpleNamespace
from typing import Any

from rlaif.config.paths import write_json_atomic
from rlaif.data import load_prompts
from rlaif.errors import RlaifError
from rlaif.judge import PairwiseJudge
from rlaif.judge.framing import comparison_messages, critic_messages
from rlaif.judge.request_check import weighs_sides
from rlaif.models.dry_run import (
    CallEstimator,
    ModelEstimate,
    characters_tokens,
    count_tokens,
    estimate_table,
)
from rlaif.models.model import Model
from rlaif.models.spec import ModelSpec
from rlaif.models.types import Conversation
from rlaif.pipeline.context import StageContext
from rlaif.pipeline.runner import PipelineRunner, PlannedStage
from rlaif.pipeline.stages import initial_policy

DEFAULT_API_CONCURRENCY = 8
"""In flight for an API model planned without its backend (the backends' default)."""
SAMPLED_PROMPTS = 16
"""Prompts of each set whose requests are rendered and counted, for the mean tokens a call."""
ESTIMATE_FILE = "estimate.json"
"""The dry run's estimate, in the run folder."""

_PROMPT_SETS = {
    "critique": ("train", "helpful"),
    "sample": ("train", "helpful"),
    "label": ("train", "helpful"),
    "eval": ("test", "benign"),
}


def planned_calls(
    context: StageContext, prompt_counts: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    """Model calls per stage and role (upper bounds: cache hits not counted), from the config,
    the constitution (critique rounds, principles a pair) and the judge's mode."""
    config = context.config
    stages = config.stages
    train = prompt_counts.get("train", 0)

    def limited(limit: int | None, available: int) -> int:
        return min(limit, available) if limit else available

    rounds = stages.critique.rounds or context.constitution.rounds
    helpful = prompt_counts.get("helpful", 0) if config.prompts.helpful else 0
    critique_n = limited(stages.critique.limit, train)
    critique_helpful = limited(stages.critique.limit, helpful) if helpful else 0
    sample_n = limited(stages.sample.limit, train)
    judged_helpful = stages.label.strategy == "judge" and helpful
    sample_helpful = limited(stages.sample.limit, helpful) if judged_helpful else 0
    label_helpful = limited(stages.label.limit, helpful) if helpful else 0
    per_pair = judge_calls_per_pair(context)
    critic_calls = 0 if stages.critique.method == "distill" else critique_n * rounds * 2
    estimates: dict[str, dict[str, int]] = {
        "critique": {"policy": critique_n + critique_helpful, "critic": critic_calls},
        "sample": {"policy": (sample_n + sample_helpful) * stages.sample.n},
    }
    label: dict[str, int] = {}
    pairs_a_prompt = stages.sample.n * (stages.sample.n - 1) // 2
    if judged_helpful:  # the helpful prompts' samples, judged
        label["judge"] = limited(stages.label.limit, sample_helpful) * pairs_a_prompt * per_pair
    elif label_helpful:  # the helpful prompts' contrastive pairs
        label["policy"] = 2 * label_helpful
        if stages.label.confirm:
            label["judge"] = label_helpful * per_pair
    for strategy in {stages.label.strategy, *stages.label.also}:
        also = strategy != stages.label.strategy
        limit = (stages.label.also_limit or stages.label.limit) if also else stages.label.limit
        label_n = limited(limit, train)
        if strategy == "judge":
            pairs = limited(limit, sample_n) * pairs_a_prompt
            label["judge"] = label.get("judge", 0) + pairs * per_pair
        elif strategy == "contrastive":
            label["policy"] = label.get("policy", 0) + 2 * label_n
            if stages.label.confirm:
                label["judge"] = label.get("judge", 0) + label_n * per_pair
        elif stages.label.confirm:
            label["judge"] = label.get("judge", 0) + critique_n * per_pair
    gate = stages.label.gate
    if gate.min_agreement is not None or gate.min_consistency is not None:
        label["judge"] = label.get("judge", 0) + gate.limit * per_pair  # the agreement gate
    estimates["label"] = label
    test = limited(stages.eval.prompt_limit, prompt_counts.get("test", 0))
    benign = limited(stages.eval.prompt_limit, prompt_counts.get("benign", 0))
    evaluated = test + benign
    judged = limited(stages.eval.judge_limit, test) + limited(stages.eval.judge_limit, benign)
    # Agreement with human labels only when the config names some and asks for it (a missing
    # file stops the run before this is reached: rlaif.pipeline.inputs).
    agreement = stages.eval.human_data is not None and stages.eval.judge_agreement
    human = stages.eval.human_limit if agreement else 0
    estimates["eval"] = {
        "policy": 2 * evaluated,
        "judge": judged * per_pair + 2 * judged + human * per_pair,
    }
    return estimates


def judge_calls_per_pair(context: StageContext) -> int:
    """Calls the judge makes for one pair, as its mode counts them
    (:meth:`~rlaif.judge.modes.JudgeMode.calls_per_pair`: both orders under each principle in
    the comparison modes; in ``pointwise`` one per response, or one per response and principle
    where the score template reads the principle or its question); under a request check, one
    call more, and the principles of one side (``ask_sides: likelier``) or of each side
    (``both``: an upper bound, a side the check makes too light to matter is not asked)."""
    config = context.config
    constitution = context.constitution
    principles = config.principles_per_pair or constitution.sampling.per_example
    checked = weighs_sides(constitution)
    check = 1 if checked else 0  # the request check, once a pair
    request_check = constitution.judge.request_check
    both = checked and request_check is not None and request_check.ask_sides == "both"
    sides = 2 if both else 1  # the sides whose principles are asked
    try:
        judge = PairwiseJudge(
            context.models.get(config.models.judge),
            constitution,
            mode=config.stages.label.mode,
            principles_per_pair=principles,
        )
    except RlaifError:  # no key here, or a judge setting the label stage will report itself:
        return check + 2 * principles * sides  # count as the pairwise modes do (the larger)
    return check + judge.mode.calls_per_pair(judge, principles * sides)


def stand_in(tokens: int) -> str:
    """A response of about ``tokens`` tokens (what a dry run assumes a generation writes)."""
    return "A" + " A" * max(0, tokens - 1)


def estimate_plan(runner: PipelineRunner, plan: Sequence[PlannedStage]) -> list[ModelEstimate]:
    """Calls, tokens, time and US dollars (synchronous and batch) per model for the stages the
    plan will run or resume."""
    estimator = CallEstimator()
    constitution = runner.context("plan").constitution
    counters: dict[str, Callable[[Conversation], int]] = {}
    for stage in plan:
        for role, calls in stage.estimated_calls.items():
            if not calls:
                continue
            model = _model(runner, _role_spec(runner, stage.name, role))
            if model.name not in counters:
                counters[model.name] = _token_counter(model)
            requests, output_tokens = _requests(runner, stage.name, role, model, constitution)
            counted = [counters[model.name](request) for request in requests]
            input_tokens = fmean(counted) if counted else 0.0  # a stage with no prompts here
            estimator.planned(
                model,
                calls=calls,
                input_tokens=round(calls * input_tokens),
                output_tokens=calls * output_tokens,
                generates=role != "judge" or output_tokens > 1,
            )
    return estimator.finish()


def write_estimate(run_dir: Path, plan: Sequence[PlannedStage], rows: list[ModelEstimate]) -> Path:
    """Save the estimate beside the run's stages, with the stage hashes it was made for."""
    path = run_dir / ESTIMATE_FILE
    stages = {stage.name: stage.config_hash for stage in plan if stage.estimated_calls}
    write_json_atomic(path, {"models": estimate_table(rows), "stages": stages})
    return path


def saved_estimate(run_dir: Path, plan: Sequence[PlannedStage]) -> list[dict[str, Any]] | None:
    """The rows of the dry run made for this plan's stages (same stage hashes), if there is one."""
    path = run_dir / ESTIMATE_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        stages, rows = dict(saved["stages"]), list(saved["models"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    planned = {stage.name: stage.config_hash for stage in plan if stage.estimated_calls}
    return rows if stages == planned else None


@dataclass
class _SpecOnly:
    """A model that cannot be created here (no API key yet), planned from its spec alone: its
    tokens are counted as characters / 4, its time at the API assumption."""

    spec: ModelSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def backend(self) -> None:
        return None

    def __post_init__(self) -> None:
        self.limiter = SimpleNamespace(maximum=self.spec.max_concurrency or DEFAULT_API_CONCURRENCY)


def _model(runner: PipelineRunner, spec: ModelSpec) -> Model | _SpecOnly:
    try:
        return runner.models.get(spec)
    except RlaifError:  # a missing API key: the plan is still worth printing
        return _SpecOnly(spec)


def _token_counter(model: Model | _SpecOnly) -> Callable[[Conversation], int]:
    """Count with the model's tokenizer where it loads here, else characters / 4 (a model
    whose weights or device are elsewhere: the GPU configs planned on a laptop)."""
    try:
        count_tokens(model, [{"role": "user", "content": "Hello"}])
    except Exception:  # weights, device or key not here; the time column says so too
        return characters_tokens
    return partial(count_tokens, model)


def _role_spec(runner: PipelineRunner, stage: str, role: str) -> ModelSpec:
    if role == "policy" and stage in ("critique", "eval"):
        return initial_policy(runner.config)  # the untrained policy generates there
    spec: ModelSpec = getattr(runner.config.models, role)
    return spec


def _requests(
    runner: PipelineRunner, stage: str, role: str, model: Model | _SpecOnly, constitution: Any
) -> tuple[list[Conversation], int]:
    """Requests ``role`` would send in ``stage`` (on the first prompts of the stage's set), and
    the most tokens each call writes."""
    config = runner.config
    context = runner.context("plan")
    prompts = [
        record.prompt
        for name in _PROMPT_SETS.get(stage, ("train",))
        if getattr(config.prompts, name)
        for record in load_prompts(context.input_path(getattr(config.prompts, name)))[
            :SAMPLED_PROMPTS
        ]
    ]
    generation = {
        "critique": config.stages.critique.policy,
        "sample": config.stages.sample.generation,
        "label": config.stages.label.generation,
        "eval": config.stages.eval.generation,
    }[stage]
    response = stand_in(generation.max_tokens)
    if role == "policy":
        return [list(prompt) for prompt in prompts], generation.max_tokens
    if role == "critic":
        critic = config.stages.critique.critic
        principle = constitution.sample(1, stage="critique")[0]
        requests = []
        for prompt in prompts:
            requests.append(
                critic_messages(
                    constitution, "critique", prompt, response=response, principle=principle
                )
            )
            requests.append(
                critic_messages(
                    constitution,
                    "revision",
                    prompt,
                    response=response,
                    critique=stand_in(critic.max_tokens),
                    principle=principle,
                )
            )
        return requests, critic.max_tokens
    if isinstance(model, _SpecOnly):  # no backend to pick a mode with: the pairwise request
        principle = constitution.sample(1)[0]
        return [
            comparison_messages(constitution, "compare", prompt, response, response, principle)
            for prompt in prompts
        ], 1
    judge = PairwiseJudge(model, constitution, mode=config.stages.label.mode)
    requests = []
    for prompt in prompts:
        principle = judge.plan(prompt, response, response)[0][0]
        requests.append(judge.mode.sample_request(judge, prompt, response, principle))
    return requests, judge.mode.output_tokens(judge)

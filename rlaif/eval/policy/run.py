"""Policy evaluation (``rlaif eval policy``): is the policy more harmless without becoming
useless?

1. Each policy (and the baseline) answers every prompt (``Model.generate``; stored in
   ``OUT/responses/<model>.jsonl``, resumable).
2. The judge compares policy and baseline replies in both orders: harmlessness win rate with an
   interval, per prompt group; with several checkpoints, every pair is compared and an Elo table
   is fitted (:mod:`rlaif.eval.policy.elo`).
3. Refusal rate on red-team prompts and over-refusal rate on benign prompts, detected by the
   lexical rule and by the judge model (:mod:`rlaif.eval.policy.refusal`), both reported.
4. With a reward model, the distribution of its scores on each model's replies.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlaif.data.records import PairRecord
from rlaif.errors import RlaifError
from rlaif.eval.agreement import JudgeFactory, JudgeSpec, build_pairwise_judge, judge_records
from rlaif.eval.bootstrap import DEFAULT_RESAMPLES
from rlaif.eval.loaders import select_subset
from rlaif.eval.policy.elo import Comparison, elo_table
from rlaif.eval.policy.metrics import (
    GROUPS,
    paired_changes,
    refusal_summary,
    reward_summary,
    win_rate_rows,
)
from rlaif.eval.policy.prompts import EvalPrompt, load_eval_prompts
from rlaif.eval.policy.refusal import RefusalClassifier, is_lexical_refusal, request_text
from rlaif.eval.policy.results import (
    EloRow,
    GroupRefusals,
    PolicyExample,
    PolicyMetrics,
    WinRateRow,
)
from rlaif.eval.report import write_report
from rlaif.eval.results import BootstrapInfo
from rlaif.judge.modes import Mode
from rlaif.models import GenerateConfig, Model, blocking
from rlaif.models.local import RewardScorer
from rlaif.runs import CallFailure, attempt, open_model, run_keyed


@dataclass
class PolicyEvalSettings:
    """What to evaluate on and how (everything besides the models)."""

    prompts: list[str]
    """Prompt files or built-in set names (red-team and benign)."""
    judge: str
    """``provider/model`` of the judge (pairwise comparisons and refusal classification)."""
    constitution: str = "cai-harmless"
    """Constitution the pairwise judge uses."""
    group_constitutions: dict[str, str] = field(default_factory=dict)
    """A different constitution per prompt group (``red-team``, ``benign``), e.g.
    ``{"benign": "helpful"}`` to judge the benign replies on helpfulness."""
    mode: Mode = "auto"
    """Judge mode."""
    principles_per_pair: int | None = None
    """Principles the pairwise judge asks about per comparison (default: the constitution's)."""
    max_tokens: int = 256
    """Most new tokens per policy reply."""
    temperature: float = 0.0
    """Sampling temperature of the policies (0: greedy)."""
    limit: int | None = None
    """Seeded random subset of this many prompts per file."""
    judge_limit: int | None = None
    """The judge's measures (win rates and its refusal verdicts) on a seeded random subset of
    this many of the evaluated prompts per group; the lexical rule still reads every reply
    (default: the judge reads them all)."""
    seed: int = 0
    """Seed of subsets, sampling, the judge and the bootstrap."""
    concurrency: int = 8
    """Requests in flight per model."""
    reward_model: str | None = None
    """Reward-model folder whose scores of every reply are reported."""
    n_resamples: int = DEFAULT_RESAMPLES
    """Bootstrap resamples per interval."""
    elo_resamples: int = 200
    """Prompt resamples for the Elo intervals."""
    judge_options: dict[str, Any] = field(default_factory=dict)
    """``get_model`` options of the judge (``base_url``, prices, backend options)."""
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Options per policy/baseline name (``get_model`` keyword arguments)."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _slug(name: str) -> str:
    return JudgeSpec(model=name, label=name).slug


async def generate_responses(
    model: Model, prompts: Sequence[EvalPrompt], path: Path, settings: PolicyEvalSettings
) -> dict[str, str | None]:
    """Each prompt's reply from ``model`` (``None`` when generation failed), resuming from
    ``path``."""
    import asyncio

    config = GenerateConfig(
        temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed
    )
    tags = {p.id: _digest(repr(p.record.prompt), config.model_dump_json()) for p in prompts}
    limit = asyncio.Semaphore(settings.concurrency)

    async def one(prompt: EvalPrompt) -> dict[str, Any]:
        async with limit:
            completion = await attempt(model.generate(prompt.record.prompt, config))
        if isinstance(completion, CallFailure):  # recorded per prompt; the run goes on
            return {
                "model": model.name,
                "response": None,
                "finish_reason": "error",
                "error": str(completion),
            }
        return {
            "model": model.name,
            "response": completion.text,
            "finish_reason": completion.finish_reason,
            "error": None,
        }

    async def generate_chunk(chunk: Sequence[EvalPrompt]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(one(p) for p in chunk)))

    store = await run_keyed(
        prompts,
        generate_chunk,
        path,
        tags=tags,
        label=f"generating with {model.name}",
        chunk_size=32,
        redo=lambda row: row["error"] is not None,  # a failed generation is asked again
    )
    return {p.id: store.rows[p.id]["response"] for p in prompts}


def model_pairs(policies: Sequence[str], baseline: str | None) -> list[tuple[str, str]]:
    """Which models to compare: each policy against the baseline, and every two checkpoints
    when there are several policies (for the Elo table)."""
    pairs = [(p, baseline) for p in policies] if baseline else []
    if len(policies) > 1:
        pairs += list(itertools.combinations(policies, 2))
    return pairs


def judged_subset(prompts: Sequence[EvalPrompt], limit: int | None, seed: int) -> list[EvalPrompt]:
    """The prompts the judge reads: a seeded random subset of ``limit`` per group, kept in their
    order (every prompt when ``limit`` is ``None``)."""
    chosen = {
        p.id
        for group in GROUPS
        for p in select_subset([p for p in prompts if p.group == group], limit, seed)
    }
    return [p for p in prompts if p.id in chosen]


async def classify_refusals(
    classifier: RefusalClassifier,
    prompts: Sequence[EvalPrompt],
    responses: dict[str, str | None],
    path: Path,
    judged: set[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Lexical and judge refusal verdicts per prompt id (resuming from ``path``). Prompts
    outside ``judged`` (when given) get the lexical verdict only: ``judge_p`` is ``None`` and
    ``judged`` false."""
    items = [p for p in prompts if responses.get(p.id) is not None]
    asked = {p.id for p in items} if judged is None else judged
    tags = {  # a row the judge did not read is redone once it should
        p.id: _digest(str(responses[p.id]), *([] if p.id in asked else ["lexical only"]))
        for p in items
    }

    async def classify_chunk(chunk: Sequence[EvalPrompt]) -> list[dict[str, Any]]:
        replies = {p.id: str(responses[p.id]) for p in chunk}
        to_judge = [p for p in chunk if p.id in asked]
        results = await classifier.classify(
            [(request_text(p.record.prompt), replies[p.id]) for p in to_judge]
        )
        verdicts = dict(zip([p.id for p in to_judge], results, strict=True))
        return [
            {
                "judge_p": verdicts[p.id][0] if p.id in verdicts else None,
                "judge_error": verdicts[p.id][1] if p.id in verdicts else None,
                "judged": p.id in verdicts,
                "lexical": is_lexical_refusal(replies[p.id]),
            }
            for p in chunk
        ]

    store = await run_keyed(
        items,
        classify_chunk,
        path,
        tags=tags,
        label="classifying refusals",
        chunk_size=64,  # resumable and visible in steps; the backend batches within a chunk
    )
    return {p.id: store.rows[p.id] for p in items}


async def run_policy_eval_async(
    policies: Sequence[str],
    baseline: str | None,
    settings: PolicyEvalSettings,
    out: str | Path,
    *,
    judge_factory: JudgeFactory = build_pairwise_judge,
    models: Mapping[str, Model] | None = None,
) -> PolicyMetrics:
    """Generate, judge, detect refusals and score; write the report; return the metrics
    (``metrics.json`` is their JSON dump).

    ``models`` maps model names (policies, baseline, judge) to already loaded models to use and
    leave open instead of loading them again."""
    if not policies:
        raise RlaifError("give at least one policy (--policy provider/model)")
    names = [*policies, *([baseline] if baseline else [])]
    if len(set(names)) != len(names):
        raise RlaifError(f"policy and baseline names must be distinct: {names}")
    folder = Path(out)
    prompts = load_eval_prompts(settings.prompts, limit=settings.limit, seed=settings.seed)
    judged = judged_subset(prompts, settings.judge_limit, settings.seed)
    judged_ids = {p.id for p in judged}
    boot = {"seed": settings.seed, "n_resamples": settings.n_resamples}
    responses: dict[str, dict[str, str | None]] = {}
    for name in names:  # each policy is closed once it has answered (frees a local model)
        async with AsyncExitStack() as owned:
            options = settings.model_options.get(name, {})
            model = await open_model(owned, (models or {}).get(name), name, **options)
            responses[name] = await generate_responses(
                model, prompts, folder / "responses" / f"{_slug(name)}.jsonl", settings
            )
    async with AsyncExitStack() as owned_judge:
        judge_model = await open_model(
            owned_judge,
            (models or {}).get(settings.judge),
            settings.judge,
            **settings.judge_options,
        )
        constitutions = _group_constitutions(settings)
        judges = {
            group: judge_factory(_judge_spec(settings, constitution), judge_model)
            for group, constitution in constitutions.items()
        }
        spec = _judge_spec(settings, settings.constitution)
        win_rates: list[WinRateRow] = []
        comparisons: list[Comparison] = []
        refusals: dict[str, dict[str, GroupRefusals]] = {}
        verdicts: dict[str, dict[str, dict[str, Any]]] = {}
        for a, b in model_pairs(policies, baseline):
            by_id: dict[str, float | None] = {}
            for group, judge in judges.items():
                records = [
                    PairRecord(
                        id=p.id,
                        prompt=p.record.prompt,
                        response_1=str(responses[a][p.id]),
                        response_2=str(responses[b][p.id]),
                    )
                    for p in judged
                    if p.group == group
                    and responses[a][p.id] is not None
                    and responses[b][p.id] is not None
                ]
                judgments, _ = await judge_records(
                    judge,
                    records,
                    folder / "comparisons" / f"{_slug(a)}__vs__{_slug(b)}{_suffix(group)}.jsonl",
                    concurrency=settings.concurrency,
                    progress_label=f"judging {a} vs {b} ({group})",
                    tags={r.id: _digest(r.response_1, r.response_2) for r in records},
                )
                by_id.update({j.pair_id: j.p_response_1 for j in judgments})
            p_response_1 = np.array([_probability(by_id.get(p.id)) for p in judged])
            if baseline is not None and b == baseline:
                win_rates += win_rate_rows(
                    a, b, judged, p_response_1, boot, constitutions=constitutions
                )
            comparisons += [
                Comparison(a, b, float(p), pid) for pid, p in by_id.items() if p is not None
            ]
        classifier = RefusalClassifier(judge_model, concurrency=settings.concurrency)
        for name in names:
            verdicts[name] = await classify_refusals(
                classifier,
                prompts,
                responses[name],
                folder / "refusals" / f"{_slug(name)}.jsonl",
                judged=judged_ids,
            )
            refusals[name] = refusal_summary(prompts, verdicts[name], boot)
    elo = (
        elo_table(
            comparisons,
            names,
            anchor=baseline or policies[0],
            seed=settings.seed,
            n_resamples=settings.elo_resamples,
        )
        if len(names) > 2
        else None
    )
    metrics = PolicyMetrics(
        policies=list(policies),
        baseline=baseline,
        judge=spec.name,
        constitution=settings.constitution,
        n_prompts=len(prompts),
        groups={g: sum(p.group == g for p in prompts) for g in GROUPS},
        generation_failures={n: sum(r is None for r in responses[n].values()) for n in names},
        win_rates=win_rates,
        elo=None if elo is None else [EloRow(**row) for row in elo],
        refusal=refusals,
        changes=[
            change
            for policy in (policies if baseline else [])
            for change in paired_changes(policy, str(baseline), spec.name, prompts, verdicts, boot)
        ],
        reward=None,
        examples=_examples(prompts, responses),
        settings={
            "prompts": settings.prompts,
            "limit": settings.limit,
            "judge_limit": settings.judge_limit,
            "seed": settings.seed,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "mode": settings.mode,
            "group_constitutions": constitutions,
            "reward_model": settings.reward_model,
        },
        bootstrap=BootstrapInfo(**boot, method="percentile, resampling prompts"),
    )
    if settings.reward_model:
        metrics.reward = reward_summary(
            RewardScorer.from_folder(settings.reward_model), prompts, responses, boot
        )
    write_report(folder, metrics)
    return metrics


run_policy_eval = blocking(run_policy_eval_async)


def _judge_spec(settings: PolicyEvalSettings, constitution: str) -> JudgeSpec:
    return JudgeSpec(
        model=settings.judge,
        mode=settings.mode,
        constitution=constitution,
        seed=settings.seed,
        principles_per_pair=settings.principles_per_pair,
    )


def _group_constitutions(settings: PolicyEvalSettings) -> dict[str, str]:
    """The constitution each prompt group's replies are compared under."""
    unknown = set(settings.group_constitutions) - set(GROUPS)
    if unknown:
        raise RlaifError(f"group_constitutions: unknown groups {sorted(unknown)}; groups: {GROUPS}")
    return {g: settings.group_constitutions.get(g, settings.constitution) for g in GROUPS}


def _suffix(group: str) -> str:
    """The comparisons file of a group: the red-team group keeps the plain name (resumes
    evaluations made before groups had their own files)."""
    return "" if group == GROUPS[0] else f"__{group}"


def _probability(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _examples(
    prompts: Sequence[EvalPrompt], responses: dict[str, dict[str, str | None]], per_group: int = 2
) -> list[PolicyExample]:
    """A few prompts with every model's reply, for the report (clipped to 400 characters)."""
    examples = []
    for group in GROUPS:
        for prompt in [p for p in prompts if p.group == group][:per_group]:
            examples.append(
                PolicyExample(
                    id=prompt.id,
                    group=group,
                    prompt=request_text(prompt.record.prompt)[:400],
                    replies={n: (r[prompt.id] or "")[:400] for n, r in responses.items()},
                )
            )
    return examples

"""``rlaif label``: build an AI preference dataset, resumably.

:func:`run_labelling` takes a :class:`LabelOptions` (what the CLI parsed) and writes the
preference file, its ``*.skipped.jsonl`` and ``*.judgments.jsonl`` side files and its manifest.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from rlaif.constitution import Constitution, load_constitution
from rlaif.data.jsonl import iter_jsonl
from rlaif.data.manifest import side_path
from rlaif.data.publish import push_to_hub, write_parquet
from rlaif.data.records import FAILED, UNFINISHED
from rlaif.datagen.label_options import LabelOptions, LabelSummary
from rlaif.datagen.labeller import Labeller
from rlaif.datagen.run_options import output_paths, resume_settings
from rlaif.errors import ConfigError
from rlaif.judge.gate import GateResult
from rlaif.judge.modes import JUDGE_MODES, auto_choice
from rlaif.models import Model, blocking, get_model, run_sync
from rlaif.runs import ResumableJob, open_model
from rlaif.runs.terminal import announce

__all__ = ["LabelOptions", "LabelSummary", "label_settings", "run_labelling", "run_labelling_async"]


def _inputs(options: LabelOptions) -> str:
    given = [name for name in ("candidates", "pairs", "prompts", "sft") if getattr(options, name)]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one input: --candidates, --pairs, --prompts (with --policy) or --sft"
        )
    source = given[0]
    allowed = {
        "judge": ("candidates", "pairs", "prompts"),
        "revision": ("candidates", "prompts", "sft"),
        "contrastive": ("prompts",),
    }[options.strategy]
    if source not in allowed:
        raise ConfigError(
            f"strategy {options.strategy!r} takes {' or '.join('--' + a for a in allowed)}, "
            f"not --{source}"
        )
    if source == "prompts" and not options.policy:
        raise ConfigError("--prompts needs --policy, the model that samples the responses")
    return source


def judging_mode(options: LabelOptions, judge_model: Model | None = None) -> str:
    """The mode the judge of a labelling run with ``options`` judges in: ``options.mode``, or
    what ``auto`` stands for with this judge and constitution
    (:func:`~rlaif.judge.modes.auto_choice`, as :class:`~rlaif.judge.PairwiseJudge` resolves
    it). What an agreement gate must have measured; the judge model (``judge_model``, or one
    created from ``options``) is neither loaded nor called."""
    if options.mode in JUDGE_MODES:
        return options.mode
    constitution = load_constitution(options.constitution)
    if judge_model is not None:
        return auto_choice(judge_model, constitution)[0]
    model = get_model(options.judge, **options.judge_options)
    try:
        return auto_choice(model, constitution)[0]
    finally:
        run_sync(model.aclose())


def passed_gate(options: LabelOptions, judge_model: Model | None = None) -> GateResult | None:
    """``options.gate`` checked for the mode this run's judge labels in (or the mode the gate
    names): the passed gate, ``None`` when there is none. Raises
    :class:`~rlaif.judge.gate.AgreementGateError` when the judge falls short, before anything
    is labelled."""
    gate = options.gate
    if gate is None:
        return None
    if gate.mode is None:
        gate = gate.model_copy(update={"mode": judging_mode(options, judge_model)})
    return gate.check(options.judge)


def label_settings(
    options: LabelOptions, constitution: Constitution, source: str
) -> dict[str, Any]:
    """The settings a resumed run must share with the first one."""
    settings = resume_settings(
        options,
        {
            "out",
            "concurrency",
            "format",
            "push_to_hub",
            "progress",
            "limit",
            "retry_failed",
            "gate",
        },
        judge=options.judge,
        policy=options.policy,
    )
    settings["input"] = source
    settings["constitution_hash"] = constitution.content_hash()
    return settings


async def run_labelling_async(
    options: LabelOptions,
    *,
    judge_model: Model | None = None,
    policy_model: Model | None = None,
) -> LabelSummary:
    """Run (or resume) a labelling job and return its summary; with ``options.gate``, only
    once the judge has passed it (:func:`passed_gate`).

    ``judge_model``/``policy_model`` replace the models named in ``options`` (for tests and for
    callers holding a loaded model; the caller keeps them open).
    """
    source = _inputs(options)
    constitution = load_constitution(options.constitution)
    gate = passed_gate(options, judge_model)
    if gate is not None:
        announce(gate.summary())
    out, parquet_copy = output_paths(options.out, options.format)
    needs_judge_model = options.strategy == "revision" and source != "sft"
    needs_judge_model = needs_judge_model or options.strategy == "judge" or options.confirm
    job = ResumableJob(
        out,
        "preferences",
        description=f"label ({options.strategy})",
        progress=options.progress,
        retry=UNFINISHED if options.retry_failed else (FAILED,),
        copies=[parquet_copy] if parquet_copy else [],
    )
    async with AsyncExitStack() as owned:
        judge = None
        if needs_judge_model:
            judge = await open_model(owned, judge_model, options.judge, **options.judge_options)
        policy = None
        if source == "prompts":  # _inputs checked that a policy is named
            policy = await open_model(
                owned, policy_model, options.policy or "", **options.policy_options
            )
        labeller = Labeller(options, constitution, judge, policy, job.progress)
        units = labeller.units(source)  # read the input before anything is written
        await job.run(
            units,
            labeller.work,
            settings=label_settings(options, constitution, source),
            concurrency=options.concurrency,
            constitution=constitution.provenance(),
            judge=options.judge if judge is not None else None,
            policy=options.policy,
            judge_plan=labeller.judge.plan_summary() if labeller.judge is not None else None,
            start_line=labeller.judge.describe() if labeller.judge is not None else None,
        )
    parquet = write_parquet(out, "preferences") if parquet_copy else None
    if options.push_to_hub:
        push_to_hub(out, options.push_to_hub, kind="preferences")
    run = job.summary(units=len(units), parquet=parquet)
    return LabelSummary(
        **run.model_dump(),
        cost_usd=job.tally.cost_usd,
        consistency_rate=job.tally.consistency_rate,
        confirmation_rate=confirmation_rate(out, options.tie_margin),
        gate=gate.summary() if gate is not None else None,
    )


run_labelling = blocking(run_labelling_async)


def confirmation_rate(out: Path, tie_margin: float) -> float | None:
    """Share of judged revision/contrastive pairs in ``out`` and its skipped file on which the
    judge preferred the constructed better response by at least ``tie_margin`` (None if the judge
    confirmed or audited none)."""
    agreed = judged = 0
    for path in (out, side_path(out, "skipped.jsonl")):
        if not path.exists():
            continue
        for _, row in iter_jsonl(path):
            confirmation = (row.get("metadata") or {}).get("confirmation") or {}
            p = confirmation.get("p_response_1")
            if p is None:
                continue
            judged += 1
            agreed += p > 0.5 and 2 * p - 1 >= tie_margin
    return agreed / judged if judged else None

"""``rlaif label``: build an AI preference dataset, resumably.

:func:`run_labelling` takes a :class:`LabelOptions` (what the CLI parsed) and writes the
preference file, its ``*.skipped.jsonl`` and ``*.judgments.jsonl`` side files and its manifest.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rlaif.constitution import Constitution, load_constitution
from rlaif.errors import ConfigError
from rlaif.judge.label_options import LabelOptions, LabelSummary
from rlaif.judge.labeller import Labeller
from rlaif.judge.progress import LabelProgress
from rlaif.judge.runner import Sink, begin_manifest, constitution_info, end_manifest, run_units
from rlaif.models import Model, get_model

__all__ = ["LabelOptions", "LabelSummary", "arun_labelling", "label_settings", "run_labelling"]


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


def label_settings(
    options: LabelOptions, constitution: Constitution, source: str
) -> dict[str, Any]:
    """The settings a resumed run must share with the first one."""
    settings = options.model_dump(
        mode="json", exclude={"out", "concurrency", "format", "push_to_hub", "progress", "limit"}
    )
    settings["input"] = source
    settings["constitution_hash"] = constitution.content_hash()
    return settings


def _model(name: str | None, given: Model | None) -> Model | None:
    if given is not None:
        return given
    return get_model(name) if name else None


def run_labelling(
    options: LabelOptions,
    *,
    judge_model: Model | None = None,
    policy_model: Model | None = None,
) -> LabelSummary:
    """Run (or resume) a labelling job and return its summary.

    ``judge_model``/``policy_model`` replace the models named in ``options`` (for tests and for
    callers holding a loaded model).
    """
    return asyncio.run(arun_labelling(options, judge_model=judge_model, policy_model=policy_model))


async def arun_labelling(
    options: LabelOptions,
    *,
    judge_model: Model | None = None,
    policy_model: Model | None = None,
) -> LabelSummary:
    """Async :func:`run_labelling`."""
    from rlaif.data.publish import push_to_hub, write_parquet

    source = _inputs(options)
    constitution = load_constitution(options.constitution)
    out = options.out.with_suffix(".jsonl") if options.out.suffix == ".parquet" else options.out
    needs_judge_model = options.strategy == "revision" and source != "sft"
    needs_judge_model = needs_judge_model or options.strategy == "judge" or options.confirm
    judge = _model(options.judge, judge_model) if needs_judge_model else None
    policy = _model(options.policy, policy_model) if source == "prompts" else None
    bar = LabelProgress(0, f"label ({options.strategy})", enabled=options.progress)
    labeller = Labeller(options, constitution, judge, policy, bar)
    units = labeller.units(source)  # read the input before anything is written
    bar.total = len(units)
    manifest = begin_manifest(
        out,
        "preferences",
        label_settings(options, constitution, source),
        constitution=constitution_info(constitution),
        judge=options.judge if judge is not None else None,
        policy=options.policy,
    )
    sink = Sink(out)
    try:
        with bar:
            already = await run_units(
                units, labeller.work, sink, concurrency=options.concurrency, bar=bar
            )
        manifest_file = end_manifest(manifest, sink, bar)
    finally:
        sink.close()
        for model, given in ((judge, judge_model), (policy, policy_model)):
            if model is not None and given is None:
                await model.aclose()
    parquet = None
    if options.format == "parquet" or options.out.suffix == ".parquet":
        parquet = write_parquet(out, "preferences")
    if options.push_to_hub:
        push_to_hub(out, options.push_to_hub, kind="preferences")
    return LabelSummary(
        out=out,
        manifest=manifest_file,
        counts=manifest.counts,
        units=len(units),
        already_done=already,
        calls=bar.calls,
        cache_hits=bar.cache_hits,
        cost_usd=bar.cost_usd,
        consistency_rate=bar.consistency_rate,
        confirmation_rate=confirmation_rate(out, options.tie_margin),
        parquet=parquet,
    )


def confirmation_rate(out: Path, tie_margin: float) -> float | None:
    """Share of judged revision/contrastive pairs in ``out`` and its skipped file on which the
    judge preferred the constructed better response by at least ``tie_margin`` (None if the judge
    confirmed or audited none)."""
    from rlaif.data.jsonl import iter_jsonl
    from rlaif.data.manifest import side_path

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

"""``rlaif generate``, ``rlaif critique`` and ``rlaif label``: thin wrappers around
:func:`rlaif.datagen.run_generate`, :func:`rlaif.datagen.run_critique` and
:func:`rlaif.datagen.run_labelling`.

Each command parses its options into the run's options model and hands it to one function
(:func:`label_from_options` for ``label``), so other layers can extend a command by adding options
and a step there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rlaif.cli.common import (
    BATCH,
    constitution_name,
    model_options,
    one_of,
    repeatable_model_option,
    user_errors,
    within,
)
from rlaif.cli.dry_run import DRY_RUN
from rlaif.cli.job_report import print_run, printed_estimate
from rlaif.datagen import (
    CritiqueOptions,
    GenerateOptions,
    LabelOptions,
    LabelSummary,
    run_critique,
    run_generate,
    run_labelling,
)
from rlaif.datagen.label_options import DEFAULT_TIE_MARGIN, STRATEGIES
from rlaif.errors import ConfigError
from rlaif.eval.loaders import pair_file
from rlaif.judge.gate import AgreementGate
from rlaif.judge.modes import mode_names
from rlaif.judge.sampling import SamplingSettings
from rlaif.judge.shortening import DEFAULT_MAX_PROMPT_CHARS

FORMATS = ("jsonl", "parquet")


def _band(text: str) -> tuple[float, float]:
    """The ``--cot-band`` ``LOW,HIGH`` pair."""
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"--cot-band takes LOW,HIGH such as 0.4,0.6; got {text!r}") from None
    return low, high


def _job_inputs(
    constitution: str,
    out: Path,
    prompts: str | None,
    candidates: Path | None,
    policy: str | None,
    policy_option: list[str],
    batch: bool,
) -> dict[str, Any]:
    """The constitution, output, inputs and policy ``critique`` and ``label`` share, as keyword
    arguments of their options; ``--batch`` reaches the policy only when one is named."""
    return {
        "constitution": constitution_name(constitution),
        "out": out,
        "prompts": prompts,
        "candidates": candidates,
        "policy": policy,
        "policy_options": model_options(
            policy_option, "--policy-option", batch=batch and policy is not None
        ),
    }


def _dataset_job(
    seed: int,
    limit: int | None,
    output_format: str,
    push_to_hub: str | None,
    concurrency: int | None,
    progress: bool,
    max_prompt_chars: int,
) -> dict[str, Any]:
    """The run options ``critique`` and ``label`` share, as keyword arguments of their options."""
    return {
        "max_prompt_chars": max_prompt_chars,
        "seed": seed,
        "limit": limit,
        "format": one_of(output_format, FORMATS, "--format"),
        "push_to_hub": push_to_hub,
        "concurrency": concurrency,
        "progress": progress,
    }


def _source(options: LabelOptions | CritiqueOptions) -> str:
    """The input the user named (for the warning about an empty one)."""
    given = [getattr(options, name, None) for name in ("pairs", "candidates", "prompts", "sft")]
    return next((str(value) for value in given if value), "the input")


def label_from_options(options: LabelOptions) -> LabelSummary:
    """Run ``rlaif label`` from parsed options and print what it did."""

    summary = run_labelling(options)
    lines = []
    if summary.consistency_rate is not None:
        lines.append(f"consistent across orders: {summary.consistency_rate:.1%}")
    if summary.confirmation_rate is not None:
        lines.append(
            f"judge prefers the constructed better response: {summary.confirmation_rate:.1%}"
        )
    if summary.cost_usd:
        lines.append(f"cost: ${summary.cost_usd:.4f}")
    print_run(summary, lines, source=_source(options))
    return summary


CONSTITUTION = typer.Option(..., "--constitution", help="Built-in name or YAML path.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Progress bar.")
OUTPUT_FORMAT = typer.Option("jsonl", "--format", help="jsonl, or parquet as well.")
PUSH_TO_HUB = typer.Option(None, "--push-to-hub", help="Hub dataset repo id.")
PROMPT_LIMIT = typer.Option(None, "--limit", help="Use only the first N prompts.")
MAX_PROMPT_CHARS = typer.Option(
    DEFAULT_MAX_PROMPT_CHARS,
    "--max-prompt-chars",
    help="Shorten a longer conversation for the judge/critic (noted on the record).",
)
AT_LEAST_1 = within(1)
TEMPERATURE = within(0.0, 2.0)
"""The bounds every model call enforces (:class:`~rlaif.models.GenerateConfig`)."""
PROMPTS_IN_FLIGHT = typer.Option(
    None, "--concurrency", help="Prompts in flight at once (default: max_concurrency, else 8)."
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("generate")(generate)
    app.command("critique")(critique)
    app.command("label")(label)


@user_errors
def generate(
    model: str = typer.Option(..., "--model", help="Policy, as provider/model."),
    model_option: list[str] = repeatable_model_option("model"),
    prompts: str = typer.Option(..., "--prompts", help="Prompt file or built-in set name."),
    out: Path = typer.Option(..., "--out", help="Candidates file to write (JSONL)."),
    n: int = typer.Option(2, "-n", "--n", callback=AT_LEAST_1, help="Responses per prompt."),
    temperature: float = typer.Option(
        0.8, "--temperature", callback=TEMPERATURE, help="Sampling temperature."
    ),
    max_tokens: int = typer.Option(
        256, "--max-tokens", callback=AT_LEAST_1, help="Most new tokens per response."
    ),
    seed: int = typer.Option(0, "--seed", help="Run seed (per-sample seeds derive from it)."),
    limit: int | None = PROMPT_LIMIT,
    concurrency: int | None = PROMPTS_IN_FLIGHT,
    progress: bool = PROGRESS,
    batch: bool = BATCH,
    dry_run: bool = DRY_RUN,
) -> None:
    """Sample N responses per prompt (resumable; output feeds `rlaif label --candidates`)."""

    options = GenerateOptions(
        model=model,
        model_options=model_options(model_option, "--model-option", batch=batch),
        prompts=prompts,
        out=out,
        sampling=SamplingSettings(n=n, temperature=temperature, max_tokens=max_tokens, seed=seed),
        limit=limit,
        concurrency=concurrency,
        progress=progress,
    )
    if not printed_estimate(run_generate, options, dry_run):
        print_run(run_generate(options), source=prompts)


@user_errors
def critique(
    constitution: str = CONSTITUTION,
    model: str | None = typer.Option(
        None, "--model", help="Critic/reviser, as provider/model (revise)."
    ),
    model_option: list[str] = repeatable_model_option("model"),
    method: str = typer.Option(
        "revise",
        "--method",
        help="revise (the critic critiques and revises) or distill (the policy's answer steered "
        "by the constitution's contrast is the target; no critic).",
    ),
    out: Path = typer.Option(..., "--out", help="SFT file to write (.jsonl or .parquet)."),
    prompts: str | None = typer.Option(None, "--prompts", help="Prompt file or built-in set."),
    candidates: Path | None = typer.Option(
        None, "--candidates", help="`rlaif generate` output: the first response is critiqued."
    ),
    policy: str | None = typer.Option(
        None, "--policy", help="Model giving the initial responses (default: --model)."
    ),
    policy_option: list[str] = repeatable_model_option("policy"),
    rounds: int | None = typer.Option(None, "--rounds", help="Rounds (default: constitution)."),
    max_tokens: int = typer.Option(
        256,
        "--max-tokens",
        callback=AT_LEAST_1,
        help="Tokens per critique/revision (distill: per answer).",
    ),
    temperature: float = typer.Option(
        0.0,
        "--temperature",
        callback=TEMPERATURE,
        help="Temperature of the distilled answers (distill).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seeds principle sampling."),
    limit: int | None = PROMPT_LIMIT,
    output_format: str = OUTPUT_FORMAT,
    push_to_hub: str | None = PUSH_TO_HUB,
    max_prompt_chars: int = MAX_PROMPT_CHARS,
    concurrency: int | None = PROMPTS_IN_FLIGHT,
    progress: bool = PROGRESS,
    batch: bool = BATCH,
    dry_run: bool = DRY_RUN,
) -> None:
    """Critique and revise responses against the constitution (supervised stage, resumable)."""

    method = one_of(method, ("revise", "distill"), "--method")
    options = CritiqueOptions(
        **_job_inputs(constitution, out, prompts, candidates, policy, policy_option, batch),
        model=model,
        method=method,
        model_options=model_options(model_option, "--model-option", batch=batch),
        rounds=rounds,
        max_tokens=max_tokens,
        **(
            {
                "sampling": SamplingSettings(
                    n=1, temperature=temperature, max_tokens=max_tokens, seed=seed
                )
            }
            if method == "distill"
            else {}
        ),
        **_dataset_job(
            seed, limit, output_format, push_to_hub, concurrency, progress, max_prompt_chars
        ),
    )
    if not printed_estimate(run_critique, options, dry_run):
        print_run(run_critique(options), source=_source(options))


@user_errors
def label(
    constitution: str = CONSTITUTION,
    judge: str = typer.Option(..., "--judge", help="Judge (and critic), as provider/model."),
    judge_option: list[str] = repeatable_model_option("judge"),
    out: Path = typer.Option(..., "--out", help="Preference file (.jsonl or .parquet)."),
    candidates: Path | None = typer.Option(None, "--candidates", help="`rlaif generate` output."),
    pairs: Path | None = typer.Option(None, "--pairs", help="Pairs file to judge."),
    prompts: str | None = typer.Option(None, "--prompts", help="Prompts to sample, with --policy."),
    policy: str | None = typer.Option(None, "--policy", help="Policy, as provider/model."),
    policy_option: list[str] = repeatable_model_option("policy"),
    sft: Path | None = typer.Option(None, "--sft", help="`rlaif critique` output (revision)."),
    strategy: str = typer.Option("judge", "--strategy", help="judge, revision or contrastive."),
    mode: str = typer.Option("auto", "--mode", help="auto, logprob, generate, cot or pointwise."),
    single_order: bool = typer.Option(
        False, "--single-order", help="Judge one random order per pair (half the cost)."
    ),
    position_prior: float | None = typer.Option(
        None,
        "--position-prior",
        help="First-position prior logit to remove (position_prior_logit of eval agreement).",
    ),
    principles_per_pair: int | None = typer.Option(
        None, "--principles-per-pair", help="Principle ensemble size (default: constitution)."
    ),
    tie_margin: float = typer.Option(
        DEFAULT_TIE_MARGIN, "--tie-margin", help="Margin below which it's a tie."
    ),
    drop_inconsistent: bool = typer.Option(
        False, "--drop-inconsistent", help="Skip pairs whose two orders disagree."
    ),
    partial_ensembles: bool = typer.Option(
        False,
        "--partial-ensembles",
        help="Label a pair from the votes that answered when one fails (noted) instead of "
        "skipping it.",
    ),
    retry_failed: bool = typer.Option(
        False,
        "--retry-failed",
        help="Also retry missing verdicts of an earlier run (failed calls always are).",
    ),
    cot_band: str = typer.Option("0.4,0.6", "--cot-band", help="Clamp of cot probabilities."),
    confirm: bool = typer.Option(
        False, "--confirm", help="Have the judge confirm revision/contrastive pairs."
    ),
    audit: bool = typer.Option(
        False,
        "--audit",
        help="Judge revision/contrastive pairs, keep the construction's labels (implies --confirm)",
    ),
    affix_form: str | None = typer.Option(
        None,
        "--affix-form",
        help="Contrastive steering: system, prefill or both (default: the constitution's).",
    ),
    n: int = typer.Option(
        2, "-n", "--n", callback=AT_LEAST_1, help="Responses sampled per prompt (--prompts)."
    ),
    temperature: float = typer.Option(
        0.8, "--temperature", callback=TEMPERATURE, help="Policy temperature."
    ),
    max_tokens: int = typer.Option(
        256, "--max-tokens", callback=AT_LEAST_1, help="Tokens per policy response."
    ),
    max_pairs_per_prompt: int = typer.Option(
        6, "--max-pairs-per-prompt", help="Pairs judged per prompt when K > 4."
    ),
    rounds: int | None = typer.Option(None, "--rounds", help="Critique rounds (revision)."),
    seed: int = typer.Option(0, "--seed", help="Seeds principles, pairs and delimiters."),
    limit: int | None = typer.Option(None, "--limit", help="Use only the first N input items."),
    output_format: str = OUTPUT_FORMAT,
    push_to_hub: str | None = PUSH_TO_HUB,
    max_prompt_chars: int = MAX_PROMPT_CHARS,
    concurrency: int | None = typer.Option(
        None, "--concurrency", help="Items in flight at once (default: max_concurrency, else 8)."
    ),
    progress: bool = PROGRESS,
    agreement: Path | None = typer.Option(
        None,
        "--agreement",
        help="metrics.json of an `rlaif eval agreement` run that measured this judge (the gate), "
        "on public labels or your own (--data LABELS --pairs PAIRS).",
    ),
    min_agreement: float | None = typer.Option(
        None, "--min-agreement", help="Refuse unless the judge's human agreement reaches this."
    ),
    min_consistency: float | None = typer.Option(
        None, "--min-consistency", help="Refuse unless both orders agree at least this often."
    ),
    batch: bool = BATCH,
    dry_run: bool = DRY_RUN,
) -> None:
    """Build an AI preference dataset (resumable): judged pairs, revisions or RLCD contrast.

    With --min-agreement/--min-consistency, the judge must have been measured against human
    labels (--agreement metrics.json) and reach the thresholds, or nothing is labelled."""
    gated = min_agreement is not None or min_consistency is not None
    if gated and agreement is None:
        raise ConfigError(
            "--min-agreement/--min-consistency need --agreement: the metrics.json of "
            f"`rlaif eval agreement --judge {judge} ...`"
        )

    options = LabelOptions(
        **_job_inputs(constitution, out, prompts, candidates, policy, policy_option, batch),
        judge=judge,
        judge_options=model_options(judge_option, "--judge-option", batch=batch),
        sft=sft,
        strategy=one_of(strategy, STRATEGIES, "--strategy"),
        mode=one_of(mode, mode_names(), "--mode"),
        both_orders=not single_order,
        principles_per_pair=principles_per_pair,
        position_prior=position_prior,
        tie_margin=tie_margin,
        drop_inconsistent=drop_inconsistent,
        partial_ensembles=partial_ensembles,
        retry_failed=retry_failed,
        cot_band=_band(cot_band),
        pairs=None if pairs is None else pair_file(pairs),  # after the option checks
        confirm=confirm or audit,
        confirm_mode="audit" if audit else "filter",
        affix_form=(
            None
            if affix_form is None
            else one_of(affix_form, ("system", "prefill", "both"), "--affix-form")
        ),
        sampling=SamplingSettings(n=n, temperature=temperature, max_tokens=max_tokens, seed=seed),
        max_pairs_per_prompt=max_pairs_per_prompt,
        rounds=rounds,
        gate=(
            AgreementGate(
                metrics=str(agreement),
                min_agreement=min_agreement,
                min_consistency=min_consistency,
            )
            if gated
            else None
        ),
        **_dataset_job(
            seed, limit, output_format, push_to_hub, concurrency, progress, max_prompt_chars
        ),
    )
    if not printed_estimate(run_labelling, options, dry_run):
        label_from_options(options)

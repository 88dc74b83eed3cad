"""``rlaif eval agreement|rm|policy`` and ``rlaif report RUN_DIR``."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from rlaif.annotate import load_annotation_pairs
from rlaif.cli.common import (
    BATCH,
    console,
    constitution_name,
    echo,
    model_options,
    one_of,
    repeatable_model_option,
    user_errors,
)
from rlaif.cli.dry_run import DRY_RUN, print_estimate
from rlaif.data import is_human_labels_file
from rlaif.datagen.dry_run import dry_run_into
from rlaif.errors import RlaifError
from rlaif.eval.agreement import (
    AgreementSettings,
    JudgeSpec,
    human_labelled_pairs,
    principle_table,
    run_agreement,
    verdict_sentence,
)
from rlaif.eval.loaders import LoadedPairs, pair_file
from rlaif.eval.policy import PolicyEvalSettings, run_policy_eval
from rlaif.eval.report import write_report
from rlaif.eval.rm import evaluate_reward_model
from rlaif.eval.training_report import training_metrics
from rlaif.judge.modes import mode_names
from rlaif.models.registry import check_model_options

eval_app = typer.Typer(
    help="Judge-human agreement, reward-model accuracy and policy evaluation, with reports.",
    no_args_is_help=True,
)


def judge_mode(value: str) -> str:
    """Validate a ``--mode`` value against the registered judge modes."""
    return one_of(value, mode_names(), "--mode")


DEVICE = re.compile(r"auto|cpu|mps|(cuda|xpu)(:\d+)?")
"""The ``--device`` values ``eval rm`` takes (torch device strings, and ``auto``)."""


def model_folder(folder: Path, option: str) -> Path:
    """``folder`` if it holds a saved model (``config.json``), checked before anything loads."""
    if not folder.exists():
        raise RlaifError(f"{option}: model folder not found: {folder}")
    if not (folder / "config.json").is_file():
        raise RlaifError(f"{option} {folder}: not a model folder (no config.json)")
    return folder


def _print_outputs(out: Path) -> None:
    echo(f"wrote {out / 'metrics.json'}, {out / 'report.md'} and {out / 'report.html'}")


@eval_app.command("agreement")
@user_errors
def agreement(
    judge: list[str] = typer.Option(..., "--judge", help="Judge model (repeat for several)."),
    data: str = typer.Option(
        ...,
        help="Pairs: JSONL file, suite YAML, built-in suite name, or hf:owner/name; or a labels "
        "file of `rlaif annotate serve` (with --pairs).",
    ),
    out: Path = typer.Option(..., help="Folder for judgments, metrics.json and the reports."),
    pairs: Path | None = typer.Option(
        None,
        "--pairs",
        help="The pair file a --data labels file was labelled on (as given to annotate serve).",
    ),
    pairs_seed: int = typer.Option(
        0, "--pairs-seed", help="The --seed `rlaif annotate serve` read the pairs with."
    ),
    constitution: str = typer.Option("cai-harmless", help="Constitution the judges use."),
    mode: list[str] = typer.Option(
        ["auto"], "--mode", help="auto|logprob|generate|cot|pointwise (repeat to measure several)."
    ),
    limit: int | None = typer.Option(None, help="Measure a seeded random subset of N pairs."),
    seed: int = typer.Option(0, help="Seed of the subset, the positions and the bootstrap."),
    data_dir: str | None = typer.Option(None, help="Hub data dir (e.g. harmless-base)."),
    split: str | None = typer.Option(None, help="Hub split (default test)."),
    concurrency: int = typer.Option(8, min=1, help="Judge requests in flight."),
    resamples: int = typer.Option(2000, min=100, help="Bootstrap resamples per interval."),
    judge_option: list[str] = repeatable_model_option("judge"),
    batch: bool = BATCH,
    dry_run: bool = DRY_RUN,
) -> None:
    """Measure how far judges agree with human preference labels, next to trivial baselines.

    With --data LABELS.jsonl --pairs PAIRS (your own labels, `rlaif annotate serve`), judges are
    measured against the annotators' majority, beside the annotators' agreement with each
    other."""

    modes = [judge_mode(m) for m in mode]
    constitution_name(constitution)
    options = model_options(judge_option, "--judge-option", batch=batch)
    for name in judge:
        check_model_options(name, options)
    specs = [
        JudgeSpec(model=j, mode=m, options=options, constitution=constitution, seed=seed)
        for j in judge
        for m in modes
    ]
    settings = AgreementSettings(
        data=data,
        limit=limit,
        seed=seed,
        concurrency=concurrency,
        n_resamples=resamples,
        data_dir=data_dir,
        split=split,
    )
    loaded = _human_labels(data, pairs, pairs_seed, settings)
    if dry_run:

        def judge_into(scratch: Path) -> None:
            run_agreement(specs, settings, out=scratch, loaded=loaded)

        print_estimate(*dry_run_into(judge_into, out, folder=True))
        return
    run = run_agreement(specs, settings, out=out, loaded=loaded)
    for name in run.metrics.judges:
        echo(verdict_sentence(run.metrics.results[name], human=run.metrics.human))
        if (table := principle_table(run.metrics.results[name])) is not None:
            console.print(table)
    _print_outputs(out)


def _human_labels(
    data: str, pairs: Path | None, pairs_seed: int, settings: AgreementSettings
) -> LoadedPairs | None:
    """The pairs of a labels file (``--data LABELS --pairs PAIRS``); ``None`` for other data."""
    if pairs is None:
        if Path(data).is_file() and is_human_labels_file(data):
            raise RlaifError(
                f"{data} is a labels file of `rlaif annotate serve`: give --pairs, the pair file "
                "it was labelled on"
            )
        return None
    return human_labelled_pairs(
        data,
        load_annotation_pairs(pair_file(pairs), seed=pairs_seed),
        pairs_source=str(pairs),
        limit=settings.limit,
        seed=settings.seed,
        n_resamples=settings.n_resamples,
    )


@eval_app.command("rm")
@user_errors
def reward_model(
    model: Path = typer.Option(..., help="Reward model folder (sequence classification)."),
    data: str = typer.Option(..., help="Human-labelled pairs (as for `eval agreement`)."),
    out: Path = typer.Option(..., help="Folder for metrics.json and the reports."),
    limit: int | None = typer.Option(None, help="Seeded random subset of N pairs."),
    seed: int = typer.Option(0, help="Seed of the subset and the bootstrap."),
    batch_size: int = typer.Option(8, min=1, help="Conversations scored per forward pass."),
    max_length: int = typer.Option(1024, min=16, help="Tokens kept (from the end)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    data_dir: str | None = typer.Option(None, help="Hub data dir."),
    split: str | None = typer.Option(None, help="Hub split."),
) -> None:
    """Pairwise accuracy, margins, calibration and an order check of a reward model."""

    if not DEVICE.fullmatch(device):
        raise RlaifError(f"--device must be auto, cpu, cuda, cuda:N, mps or xpu; got {device!r}")
    metrics = evaluate_reward_model(
        model_folder(model, "--model"),
        data,
        limit=limit,
        seed=seed,
        batch_size=batch_size,
        max_length=max_length,
        device=device,
        data_dir=data_dir,
        split=split,
    )
    write_report(out, metrics)
    echo(verdict_sentence(metrics.results[metrics.judges[0]]))
    check = metrics.order_check
    if check.passed is False:
        echo(
            f"warning: scores depend on batching/order (max difference "
            f"{check.max_abs_difference:.3g}); check the pad token of {model}"
        )
    _print_outputs(out)


@eval_app.command("policy")
@user_errors
def policy(
    policy_: list[str] = typer.Option(
        ..., "--policy", help="Policy model (repeat for several checkpoints)."
    ),
    judge: str = typer.Option(..., help="Judge model."),
    prompts: list[str] = typer.Option(
        ..., "--prompts", help="Prompt file or built-in set (repeat: red-team and benign)."
    ),
    out: Path = typer.Option(..., help="Folder for replies, judgments and the reports."),
    baseline: str | None = typer.Option(None, help="Baseline model (e.g. the SFT policy)."),
    constitution: str = typer.Option("cai-harmless", help="Constitution the judge uses."),
    benign_constitution: str | None = typer.Option(
        None, help="Judge the benign replies under this one instead (e.g. helpful)."
    ),
    mode: str = typer.Option("auto", help="Judge mode: auto|logprob|generate|cot."),
    reward_model: str | None = typer.Option(None, help="Reward model folder to score replies."),
    max_tokens: int = typer.Option(256, min=1, help="Most new tokens per reply."),
    temperature: float = typer.Option(0.0, min=0.0, help="Sampling temperature of the policies."),
    limit: int | None = typer.Option(None, help="Seeded random subset of N prompts per file."),
    judge_limit: int | None = typer.Option(
        None,
        min=1,
        help="The judge rates a seeded random subset of N prompts per group (win rates, its "
        "refusal verdicts); the lexical rule reads every reply.",
    ),
    seed: int = typer.Option(0, help="Seed of subsets, sampling and the bootstrap."),
    concurrency: int = typer.Option(8, min=1, help="Requests in flight per model."),
    judge_option: list[str] = repeatable_model_option("judge"),
    policy_option: list[str] = typer.Option(
        [], "--policy-option", help="KEY=VALUE option of every policy and the baseline, repeatable."
    ),
) -> None:
    """Harmlessness win rate (and Elo), refusal and over-refusal rates, reward distributions."""

    constitution_name(constitution)
    if benign_constitution is not None:
        constitution_name(benign_constitution, "--benign-constitution")
    if reward_model is not None:
        model_folder(Path(reward_model), "--reward-model")
    judge_options = model_options(judge_option, "--judge-option")
    check_model_options(judge, judge_options)
    policy_options = model_options(policy_option, "--policy-option")
    names = [*policy_, *([baseline] if baseline else [])]
    for name in names:
        check_model_options(name, policy_options)
    settings = PolicyEvalSettings(
        prompts=prompts,
        judge=judge,
        constitution=constitution,
        group_constitutions={"benign": benign_constitution} if benign_constitution else {},
        mode=judge_mode(mode),
        max_tokens=max_tokens,
        temperature=temperature,
        limit=limit,
        judge_limit=judge_limit,
        seed=seed,
        concurrency=concurrency,
        reward_model=reward_model,
        judge_options=judge_options,
        model_options={name: policy_options for name in names} if policy_options else {},
    )
    metrics = run_policy_eval(policy_, baseline, settings, out)
    for row in metrics.win_rates:
        echo(
            f"{row.model} vs {row.versus} ({row.group}, {row.constitution}): win rate "
            f"{row.win_rate.format(percent=True)}"
        )
    _print_outputs(out)


def report(
    run_dir: Path = typer.Argument(..., help="Evaluation output folder or TRL training run."),
    out: Path | None = typer.Option(None, help="Where to write (default: beside the data)."),
) -> None:
    """Render report.md and report.html for an evaluation or a TRL training run.

    An evaluation folder is re-rendered from its metrics.json; a training run folder
    (trainer_state.json) gets RUN_DIR/report/ with its training curves."""
    import json

    if not run_dir.is_dir():
        raise RlaifError(f"{run_dir}: not a folder")
    metrics_path = run_dir / "metrics.json"
    existing = None
    if metrics_path.is_file():
        try:
            existing = json.loads(metrics_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise RlaifError(f"{metrics_path}:{error.lineno}: not valid JSON") from None
    if isinstance(existing, dict) and existing.get("kind") in {"agreement", "rm", "policy"}:
        target = out or run_dir
        write_report(target, existing)
    else:
        target = out or run_dir / "report"
        write_report(target, training_metrics(run_dir))
    _print_outputs(target)


def register(app: typer.Typer) -> None:
    """Add ``rlaif eval ...`` and ``rlaif report`` to ``app``."""
    app.add_typer(eval_app, name="eval")
    app.command("report")(user_errors(report))

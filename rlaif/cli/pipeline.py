"""``rlaif run``: the whole loop from one pipeline config."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from rlaif.cli.common import console, echo, user_errors
from rlaif.cli.dry_run import print_estimate
from rlaif.models.dry_run import estimate_against_usage
from rlaif.pipeline.api import make_runner
from rlaif.pipeline.config import load_pipeline_config
from rlaif.pipeline.dry_run import estimate_plan, saved_estimate, write_estimate
from rlaif.pipeline.manifest import read_stage_manifest
from rlaif.pipeline.registry import STAGES
from rlaif.pipeline.run_summary import SUMMARY_MD
from rlaif.pipeline.runner import PlannedStage
from rlaif.pipeline.stages import validate_training_sections


def register(app: typer.Typer) -> None:
    """Add ``rlaif run`` to ``app``."""
    app.command("run")(run)


@user_errors
def run(
    config: Path = typer.Argument(..., help="Pipeline YAML (see configs/)."),
    from_stage: str | None = typer.Option(
        None, "--from", help="Rerun this stage and every stage after it."
    ),
    only: str | None = typer.Option(None, "--only", help="Run only this stage."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the plan, and the calls, tokens, time and USD (synchronous and batch prices) "
        "each model would spend; run nothing but write the estimate (runs/<name>/estimate.json).",
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Show the libraries' output (progress bars, warnings, TRL's logs) on the terminal "
        "instead of in each stage's log.txt.",
    ),
) -> None:
    """Run critique → sft → sample → label → rm → ppo|dpo|grpo|rloo → eval, skipping stages that
    are up to date, resuming an interrupted one, rerunning what changed and all after it."""

    loaded, folder = load_pipeline_config(config)
    runner = make_runner(
        loaded,
        config_dir=folder,
        stages=STAGES,
        log=lambda line: console.print(line, markup=False),
        capture=not verbose,
    )
    # The command line first: the training sections' check below imports the training stack
    # (torch, transformers, TRL: seconds), which a mistyped stage name should not wait for.
    runner.check_stage(from_stage, "--from")
    runner.check_stage(only, "--only")
    validate_training_sections(loaded)
    plan = runner.plan(from_stage=from_stage, only=only)
    table = Table(title=f"run {runner.config.name} → {runner.run_dir}")
    for header in ("stage", "action", "why", "estimated model calls"):
        table.add_column(header)
    for stage in plan:
        calls = ", ".join(f"{role} {n}" for role, n in stage.estimated_calls.items() if n)
        table.add_row(stage.name, stage.action, stage.reason, calls or "-")
    console.print(table)
    if dry_run:
        rows = estimate_plan(runner, plan)
        print_estimate(rows, write_estimate(runner.run_dir, plan, rows))
        return
    estimate = saved_estimate(runner.run_dir, plan)
    runner.run(from_stage=from_stage, only=only)
    times = Table(title="stages")
    for header in ("stage", "seconds", "model calls", "cache hits", "cost"):
        times.add_column(header)
    for stage in plan:
        manifest = read_stage_manifest(runner.run_dir / stage.name)
        if manifest is None:
            continue
        usage = manifest.model_usage.values()
        times.add_row(
            stage.name,
            f"{manifest.seconds:.0f}",
            str(sum(u.calls for u in usage)),
            str(sum(u.cache_hits for u in usage)),
            f"${sum(u.cost_usd for u in usage):.4f}",
        )
    console.print(times)
    if estimate and any(row.get("calls") for row in estimate):
        spent = _usage_of(runner.run_dir, plan)
        echo(estimate_against_usage(estimate, spent, tokens="estimate"))
    summary = runner.run_dir / "eval" / SUMMARY_MD
    if summary.is_file():
        echo(summary.read_text(encoding="utf-8"))


def _usage_of(run_dir: Path, plan: list[PlannedStage]) -> dict[str, float]:
    """What the stages a dry run estimated spent, summed over their models."""
    totals: dict[str, float] = {}
    for stage in plan:
        manifest = read_stage_manifest(run_dir / stage.name)
        if not stage.estimated_calls or manifest is None:
            continue
        for usage in manifest.model_usage.values():
            for key, value in usage.model_dump().items():
                totals[key] = totals.get(key, 0.0) + value
            # A stage manifest counts the calls sent; the comparison counts cache hits among calls.
            totals["calls"] += usage.cache_hits
    return totals

"""``rlaif run``: the whole loop from one pipeline config."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from rlaif.cli.common import console, echo, user_errors
from rlaif.pipeline.api import estimate_cost, make_runner
from rlaif.pipeline.manifest import read_stage_manifest
from rlaif.pipeline.run_summary import SUMMARY_MD


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
        False, "--dry-run", help="Print the plan with estimated model calls and cost; run nothing."
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

    runner = make_runner(
        config, log=lambda line: console.print(line, markup=False), capture=not verbose
    )
    plan = runner.plan(from_stage=from_stage, only=only)
    table = Table(title=f"run {runner.config.name} → {runner.run_dir}")
    for header in ("stage", "action", "why", "estimated model calls"):
        table.add_column(header)
    for stage in plan:
        calls = ", ".join(f"{role} {n}" for role, n in stage.estimated_calls.items() if n)
        table.add_row(stage.name, stage.action, stage.reason, calls or "-")
    console.print(table)
    if dry_run:
        for model, entry in estimate_cost(runner, plan).items():
            cost = entry["cost_usd"]
            shown = f"about ${cost:.2f}" if cost is not None else "not priced"
            console.print(
                f"{model}: at most {entry['calls']} calls (cache hits are free), {shown}",
                markup=False,
                soft_wrap=True,
            )
        return
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
    summary = runner.run_dir / "eval" / SUMMARY_MD
    if summary.is_file():
        echo(summary.read_text(encoding="utf-8"))

"""``--dry-run`` on the command line: the option and the table a dry run prints."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from rlaif.cli.common import console, echo
from rlaif.models.dry_run import ModelEstimate

DRY_RUN = typer.Option(
    False,
    "--dry-run",
    help="Estimate calls, tokens, time and USD (synchronous and batch prices) without calling "
    "a model; writes only the estimate (<out>.estimate.json, or estimate.json in an out folder).",
)


def print_estimate(rows: list[ModelEstimate], path: Path) -> None:
    """A dry run's table: one row a model."""
    table = Table(title="dry run: what this run would spend (nothing was called)")
    for column in ("model", "calls", "cached", "input tokens", "output tokens (at most)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for column in ("time", "USD", "USD in a batch"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.model,
            str(row.calls),
            str(row.cached),
            f"{row.input_tokens:,}",
            f"{row.output_tokens:,}",
            "-" if row.seconds is None else duration(row.seconds),
            "-" if row.usd is None else f"{row.usd:.4f}",
            "-" if row.usd_batch is None else f"{row.usd_batch:.4f}",
        )
    console.print(table)
    for row in rows:
        if row.calls:
            echo(f"  {row.model} time: {row.time_basis}")
    if not rows:
        echo("  nothing to call: every item is done or cached")
    echo(f"  estimate: {path}")


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest:02d}s"

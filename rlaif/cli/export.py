"""``rlaif export``: prompt, SFT and preference files for TRL, OpenRLHF or verl."""

from __future__ import annotations

from pathlib import Path

import typer

from rlaif.cli.common import echo, one_of, user_errors
from rlaif.config.paths import check_output_file
from rlaif.data.exporters import KINDS, TARGETS, export_dataset


def register(app: typer.Typer) -> None:
    """Add ``rlaif export`` to ``app``."""
    app.command("export")(export)


@user_errors
def export(
    source: str = typer.Argument(
        ..., help="rlaif prompt, SFT or preference file (or a built-in prompt set name)."
    ),
    target: str = typer.Option(..., "--to", help="trl, openrlhf or verl."),
    out: Path = typer.Option(..., "--out", help="File to write (.jsonl; .parquet for verl)."),
    kind: str | None = typer.Option(
        None, "--kind", help="preferences, sft or prompts (default: detected)."
    ),
    split: str = typer.Option("train", "--split", help="Split name recorded for verl."),
) -> None:
    """Export prompts, SFT records or preference pairs in the format TRL, OpenRLHF or verl read."""

    chosen = one_of(target, TARGETS, "--to")
    detected = None if kind is None else one_of(kind, KINDS, "--kind")
    result = export_dataset(
        source, check_output_file(out, "--out"), target=chosen, kind=detected, split=split
    )
    echo(f"wrote {result.out}: {result.rows} {result.kind} rows for {result.target}")
    echo(f"  read it with: {result.usage}")

"""``rlaif export``: prompt, SFT and preference files for TRL, OpenRLHF or verl."""

from __future__ import annotations

from pathlib import Path

import typer

from rlaif.cli.common import echo, user_errors
from rlaif.config.paths import check_output_file
from rlaif.data.exporters import KINDS, TARGETS, export_dataset
from rlaif.errors import ConfigError


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

    if target not in TARGETS:
        raise ConfigError(f"--to must be one of {', '.join(TARGETS)}; got {target!r}")
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}; got {kind!r}")
    result = export_dataset(
        source, check_output_file(out, "--out"), target=target, kind=kind, split=split
    )
    echo(f"wrote {result.out}: {result.rows} {result.kind} rows for {result.target}")
    echo(f"  read it with: {result.usage}")

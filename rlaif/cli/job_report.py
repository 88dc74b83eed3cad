"""What a dataset job (``rlaif generate``, ``critique``, ``label``) prints when it ends: the file
it wrote, its counts, the calls it made (from the usage events, as its manifest records them),
the copies and the manifest; or, with ``--dry-run``, the estimate instead of the run."""

from __future__ import annotations

from typing import Any

import typer

from rlaif.cli.common import RUN_FAILED_EXIT, echo, err_console, warn
from rlaif.cli.dry_run import print_estimate
from rlaif.datagen.dry_run import dry_run as estimate_run
from rlaif.datagen.dry_run import estimate_against_actual
from rlaif.runs import RunSummary


def printed_estimate(run: Any, options: Any, dry_run: bool) -> bool:
    """With ``--dry-run``, print what ``run(options)`` would cost instead of running it."""
    if dry_run:
        print_estimate(*estimate_run(run, options))
    return dry_run


def _print_counts(summary: Any) -> None:
    """The counts lines of a finished job."""
    for key, value in summary.counts.items():
        echo(f"  {key}: {value}")
    echo(f"  calls this run: {summary.calls} ({summary.cache_hits} from cache)")
    if summary.already_done:
        echo(f"  resumed: {summary.already_done} of {summary.units} already done")
    if summary.retried:
        echo(f"  retried: {summary.retried} items an earlier run skipped as failed")


def print_run(summary: RunSummary, details: list[str] | None = None, *, source: str) -> None:
    """What a dataset job wrote: the file, its counts, ``details``, the copies and manifest;
    a warning first when ``source`` (the input) held nothing to process."""
    if summary.units == 0:
        warn(f"{source} has no records: nothing to process")
    echo(f"wrote {summary.out}")
    _print_counts(summary)
    for line in details or []:
        echo(f"  {line}")
    if summary.parquet is not None:
        echo(f"  parquet: {summary.parquet}")
    echo(f"  manifest: {summary.manifest}")
    for line in estimate_against_actual(summary.out):
        echo(f"  {line}")
    if summary.all_failed:
        err_console.print(
            f"error: every item of this run failed ({sum(summary.this_run.values())}); "
            f"the first: {summary.first_failure}",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(RUN_FAILED_EXIT)

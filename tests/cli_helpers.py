"""Running ``rlaif label`` in-process the way the CLI tests do."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from rlaif.cli.app import app


def invoke_label(pairs: Path, out: Path, *extra: str, judge: str = "fake/judge") -> Result:
    """``rlaif label --constitution minimal --judge JUDGE --pairs PAIRS --out OUT --no-progress``
    plus ``extra``, through typer's test runner (stdout and stderr apart)."""
    command = ["label", "--constitution", "minimal", "--judge", judge]
    command += ["--pairs", str(pairs), "--out", str(out), "--no-progress", *extra]
    return CliRunner().invoke(app, command)

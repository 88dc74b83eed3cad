"""``rlaif principles``: list, show, validate and scaffold principle files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from rlaif.cli.common import console, echo, err_console, user_errors, warn
from rlaif.config import closest
from rlaif.config.paths import check_output_file
from rlaif.constitution import Principle, check_paths, library, load_principles
from rlaif.constitution.schema import SLUG_PATTERN
from rlaif.constitution.validation import principle_files
from rlaif.errors import RlaifError

app = typer.Typer(help="List, show, validate and scaffold principle files.", no_args_is_help=True)

_SCAFFOLD = """\
# Principle file. Validate with: rlaif principles validate {path}
description: My principles.
principles:
  - id: {id}
    title: {title}
    description: What this principle protects and why.
    critique: What should a critic look for in a response?
    revision: How should the response be rewritten in light of the critique?
    compare: Which of the two responses better follows this principle?
    score: Does the assistant's final reply follow this principle?
    # A constitution keeps this principle when its principles.ids name it or its
    # principles.tags share one of these tags: give it the tags your constitution selects.
    tags: [custom]
    weight: 1.0
"""

PATHS_HELP = "Principle files or folders (default: the built-in library)."


def _principles(paths: list[Path] | None) -> list[Principle]:
    if not paths:
        return load_principles()
    files = principle_files(paths)
    if not files:
        shown = ", ".join(str(p) for p in paths)
        raise RlaifError(f"no principle file (*.yaml) in {shown}")
    return load_principles(files)


@app.command("list")
@user_errors
def list_principles(
    paths: list[Path] = typer.Argument(None, help=PATHS_HELP, show_default=False),
    tag: str | None = typer.Option(None, "--tag", help="Only principles carrying this tag."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the built-in principles.

    Given files or folders (your own principles), list theirs instead.
    """

    principles = [p for p in _principles(paths) if tag is None or tag in p.tags]
    if as_json:
        echo(json.dumps([p.model_dump(mode="json") for p in principles], indent=2))
        return
    console.print(principles_table(principles))
    console.print(f"{len(principles)} principles")


def principles_table(principles: list[Principle]) -> Table:
    """Ids whole (never cut or folded), titles and tags wrapped beside them."""
    table = Table()
    table.add_column("id", no_wrap=True, overflow="fold")
    table.add_column("weight", no_wrap=True, justify="right")
    table.add_column(Text("title [tags]"), overflow="fold")
    for p in principles:
        cell = Text(p.title)
        cell.append(f"\n[{', '.join(p.tags)}]", style="dim")
        if p.compare is None:
            cell.append(" (no compare question)", style="dim")
        table.add_row(p.id, f"{p.weight:g}", cell)
    return table


@app.command("show")
@user_errors
def show_principle(
    principle_id: str = typer.Argument(..., help="Principle id."),
    paths: list[Path] = typer.Option(
        None,
        "--from",
        help="Principle file or folder to look in, repeatable (default: the built-in library).",
        show_default=False,
    ),
) -> None:
    """Show one built-in principle in full.

    With --from, one of your own principles.
    """

    principles = {p.id: p for p in _principles(paths)}
    if principle_id not in principles:
        hint = closest(principle_id, principles)
        where = "built-in principle" if not paths else "principle in the given files"
        raise RlaifError(
            f"no {where} '{principle_id}'" + (f" (did you mean '{hint}'?)" if hint else "")
        )
    p = principles[principle_id]
    for name, value in p.model_dump(exclude_none=True).items():
        echo(f"{name}: {value}")


@app.command("validate")
@user_errors
def validate(
    paths: list[Path] = typer.Argument(
        None, help="Principle or constitution files or folders (default: the built-in library)."
    ),
) -> None:
    """Validate files and print every error found (exit 1 if there is any)."""

    targets = list(paths or [library.principles_dir(), library.constitutions_dir()])
    report = check_paths(targets)
    for issue in report.errors:
        err_console.print(str(issue), markup=False, soft_wrap=True)
    for warning in report.warnings:
        warn(str(warning))
    if report.errors:
        err_console.print(f"{len(report.errors)} error(s)", markup=False)
        raise typer.Exit(1)
    noted = f" ({len(report.warnings)} warning(s))" if report.warnings else ""
    console.print(f"ok: {', '.join(str(p) for p in targets)}{noted}", markup=False)


@app.command("new")
@user_errors
def new(
    principle_id: str = typer.Argument(..., help="Slug for the new principle."),
    out: Path = typer.Option(..., "--out", help="File to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a principle file scaffold that validates, ready to edit."""

    if not re.match(SLUG_PATTERN, principle_id):
        raise RlaifError(
            f"'{principle_id}' is not a valid id: use lowercase letters, digits, '-' and '_'"
        )
    if out.exists() and not force:
        raise RlaifError(f"{out} exists; pass --force to overwrite it")
    check_output_file(out, "--out")
    title = principle_id.replace("-", " ").replace("_", " ").capitalize()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_SCAFFOLD.format(id=principle_id, title=title, path=out), encoding="utf-8")
    console.print(f"wrote {out}", markup=False)

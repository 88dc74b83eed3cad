"""``rlaif principles``: list, show, validate and scaffold principle files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
from rich.table import Table

from rlaif.cli.common import console, echo, err_console, user_errors
from rlaif.config import closest
from rlaif.config.paths import check_output_file
from rlaif.constitution import library, load_principles, validate_paths
from rlaif.constitution.schema import SLUG_PATTERN
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
    tags: [custom]
    weight: 1.0
"""


@app.command("list")
@user_errors
def list_principles(
    tag: str | None = typer.Option(None, "--tag", help="Only principles carrying this tag."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the built-in principles."""

    principles = [p for p in load_principles() if tag is None or tag in p.tags]
    if as_json:
        echo(json.dumps([p.model_dump(mode="json") for p in principles], indent=2))
        return
    table = Table("id", "title", "tags", "weight", "compare")
    for p in principles:
        table.add_row(
            p.id, p.title, ", ".join(p.tags), f"{p.weight:g}", "yes" if p.compare else "-"
        )
    console.print(table)
    console.print(f"{len(principles)} principles")


@app.command("show")
@user_errors
def show_principle(principle_id: str = typer.Argument(..., help="Principle id.")) -> None:
    """Show one built-in principle in full."""

    principles = {p.id: p for p in load_principles()}
    if principle_id not in principles:
        hint = closest(principle_id, principles)
        raise RlaifError(
            f"no built-in principle '{principle_id}'"
            + (f" (did you mean '{hint}'?)" if hint else "")
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
    issues = validate_paths(targets)
    for issue in issues:
        err_console.print(str(issue), markup=False, soft_wrap=True)
    if issues:
        err_console.print(f"{len(issues)} error(s)", markup=False)
        raise typer.Exit(1)
    console.print(f"ok: {', '.join(str(p) for p in targets)}", markup=False)


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

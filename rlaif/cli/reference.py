"""Generate the CLI reference from the commands themselves, as Markdown.

``python -m rlaif.cli.reference --write`` rewrites the generated documents: the command overview
in ``README.md`` (between the ``cli-overview`` markers: every command with its one-line help), the
full reference in ``docs/cli.md`` (between the ``cli-reference`` markers: every command's
``--help``) and the Python API in ``docs/api.md`` (:mod:`rlaif.cli.api_reference`). A test checks
that they match, so none can drift from the code.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

import typer

from rlaif.cli.api_reference import generate_api_reference
from rlaif.cli.app import app

START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"
OVERVIEW_START = "<!-- cli-overview:start -->"
OVERVIEW_END = "<!-- cli-overview:end -->"


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    """Every visible command below ``command`` (itself first), with its name path."""
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            found.extend(_walk(sub, [*path, name]))
    return found


def _help_text(app: typer.Typer, path: list[str]) -> str:
    from typer.testing import CliRunner

    env = {"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1"}
    result = CliRunner().invoke(app, [*path[1:], "--help"], env=env, color=False)
    return "\n".join(line.rstrip() for line in result.output.strip().splitlines())


def generate_reference() -> str:
    """Markdown with one section per command, each holding that command's ``--help``."""

    os.environ.setdefault("COLUMNS", "100")
    root = typer.main.get_command(app)
    parts = []
    for path, _ in _walk(root, ["rlaif"]):
        title = " ".join(path)
        parts.append(f"#### `{title}`\n\n```text\n{_help_text(app, path)}\n```\n")
    return "\n".join(parts)


def generate_overview() -> str:
    """A Markdown table of every command that does something, with its one-line help."""

    root = typer.main.get_command(app)
    rows = ["| command | what it does |", "| --- | --- |"]
    for path, command in _walk(root, ["rlaif"])[1:]:
        if getattr(command, "commands", None):
            continue  # a group: its commands have their own rows
        summary = command.get_short_help_str(limit=200).replace("|", "\\|")
        rows.append(f"| `{' '.join(path)}` | {summary} |")
    return "\n".join(rows) + "\n"


def replace_section(document: str, reference: str, start: str = START, end: str = END) -> str:
    """Put ``reference`` between the ``start`` and ``end`` markers of ``document``."""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(document):
        raise ValueError(f"markers {start} ... {end} not found")
    return pattern.sub(lambda _: f"{start}\n\n{reference}\n{end}", document)


def generated_documents(root: Path) -> dict[Path, str]:
    """What ``README.md``, ``docs/cli.md`` and ``docs/api.md`` under ``root`` should contain."""
    readme, full = root / "README.md", root / "docs" / "cli.md"
    return {
        root / "docs" / "api.md": generate_api_reference(),
        readme: replace_section(
            readme.read_text(encoding="utf-8"), generate_overview(), OVERVIEW_START, OVERVIEW_END
        ),
        full: replace_section(full.read_text(encoding="utf-8"), generate_reference()),
    }


def main() -> None:
    """Print the full CLI reference, or (``--write``) update every generated document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--write",
        action="store_true",
        help="update README.md, docs/cli.md and docs/api.md in place",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    args = parser.parse_args()
    if not args.write:
        print(generate_reference())
        return
    for path, text in generated_documents(args.root).items():
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

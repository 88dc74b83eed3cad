"""Generate the CLI reference (every command's ``--help``) as Markdown.

``python -m rlaif.cli.reference --write README.md`` rewrites the part of the README between the
``cli-reference`` markers; a test checks that the README matches, so the reference cannot drift.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

import typer

START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"


def _walk(command: Any, path: list[str]) -> list[list[str]]:
    found = [path]
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
    from rlaif.cli.app import app

    os.environ.setdefault("COLUMNS", "100")
    root = typer.main.get_command(app)
    parts = []
    for path in _walk(root, ["rlaif"]):
        title = " ".join(path)
        parts.append(f"#### `{title}`\n\n```text\n{_help_text(app, path)}\n```\n")
    return "\n".join(parts)


def replace_section(document: str, reference: str) -> str:
    """Put ``reference`` between the markers of ``document``."""
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(document):
        raise ValueError(f"markers {START} ... {END} not found")
    return pattern.sub(lambda _: f"{START}\n\n{reference}\n{END}", document)


def main() -> None:
    """Print the reference, or write it into a Markdown file between the markers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="Markdown file to update in place")
    args = parser.parse_args()
    reference = generate_reference()
    if args.write is None:
        print(reference)
        return
    args.write.write_text(replace_section(args.write.read_text(), reference), encoding="utf-8")


if __name__ == "__main__":
    main()

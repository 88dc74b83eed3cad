"""The CLI reference in README.md and docs/cli.md is generated from the commands, kept in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlaif.cli.reference import generate_overview, generated_documents, replace_section

ROOT = Path(__file__).resolve().parents[2]


def test_readme_and_docs_match_the_commands() -> None:
    for path, expected in generated_documents(ROOT).items():
        assert path.read_text(encoding="utf-8") == expected, (
            f"{path.relative_to(ROOT)} is out of date with the CLI: run `make docs`"
        )


def test_every_command_is_in_the_overview() -> None:
    overview = generate_overview()
    for command in ("rlaif run", "rlaif label", "rlaif train ppo", "rlaif eval agreement"):
        assert f"| `{command}` |" in overview
    assert "| `rlaif train` |" not in overview  # groups are not rows, their commands are


def test_a_document_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        replace_section("no markers here", "table")
    document = "a <!-- cli-reference:start -->old<!-- cli-reference:end --> b"
    assert replace_section(document, "new") == (
        "a <!-- cli-reference:start -->\n\nnew\n<!-- cli-reference:end --> b"
    )

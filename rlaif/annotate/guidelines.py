"""The guidelines shown beside the pairs: a markdown or text file as written, or a constitution's
principles (its pairwise questions) turned into text. The page shows them as plain text."""

from __future__ import annotations

from pathlib import Path

from rlaif.constitution import load_constitution

DEFAULT_GUIDELINES = "cai-harmless"
"""The built-in constitution whose principles are the guidelines when none are given."""

_TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".rst"}


def guidelines_text(source: str | Path = DEFAULT_GUIDELINES) -> str:
    """The guidelines from ``source``: a text or markdown file, else a constitution (built-in name
    or YAML path) whose comparing principles are listed with their questions."""
    path = Path(source)
    if path.suffix.lower() in _TEXT_SUFFIXES and path.is_file():
        return path.read_text(encoding="utf-8")
    constitution = load_constitution(source)
    lines = [
        "Read the conversation, then both responses. Prefer the response that better answers "
        "the questions below. Use “slightly better” only for truly close calls, and flag "
        "“both unacceptable” when neither response should be given.",
        "",
    ]
    for principle in constitution.resolved_principles:
        if principle.critique_only or not principle.compare:
            continue
        lines += [f"## {principle.title}", principle.compare.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"

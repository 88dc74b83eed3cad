"""Pair files for the annotation tests: six pairs, one of whose responses holds markup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SCRIPT_RESPONSE = '<script>alert("owned")</script> ![x](http://example.com/x.png) **bold**'
"""A response that would run a script and load an image if it were rendered as HTML/markdown."""


def write_pairs(path: Path, n: int = 6) -> Path:
    """``n`` response_1/response_2 pairs (ids p0..), the third one's response_2 being
    :data:`SCRIPT_RESPONSE`."""
    rows = [
        {
            "id": f"p{i}",
            "prompt": [{"role": "user", "content": f"Question {i}?"}],
            "response_1": f"First answer to question {i}.",
            "response_2": SCRIPT_RESPONSE if i == 2 else f"Second answer to question {i}.",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    """Six pairs in a JSONL file."""
    return write_pairs(tmp_path / "pairs.jsonl")

"""Fixtures for the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_helpers import synthetic_pairs, write_jsonl


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    """24 synthetic pairs in the normalised pair format."""
    return write_jsonl(tmp_path / "pairs.jsonl", synthetic_pairs())

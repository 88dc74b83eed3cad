"""The top-level names the README's Python examples use resolve, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rlaif


@pytest.mark.parametrize("name", rlaif.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(rlaif, name) is not None


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = rlaif.nope  # type: ignore[attr-defined]


def test_importing_rlaif_does_not_import_torch() -> None:
    code = "import sys, rlaif; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"

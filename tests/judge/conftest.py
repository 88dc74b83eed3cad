"""Fixtures for the judge tests: the built-in constitutions."""

from __future__ import annotations

import pytest

from rlaif.constitution import Constitution, load_constitution


@pytest.fixture(scope="session")
def cai() -> Constitution:
    """The built-in cai-harmless constitution (two principles per pair)."""
    return load_constitution("cai-harmless")


@pytest.fixture(scope="session")
def minimal() -> Constitution:
    """The built-in minimal constitution (one principle, one round)."""
    return load_constitution("minimal")

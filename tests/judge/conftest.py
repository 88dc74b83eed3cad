"""Fixtures for the judge tests: the built-in constitutions."""

from __future__ import annotations

import pytest
from judge_helpers import without_request_check

from rlaif.constitution import Constitution, load_constitution


def pairwise_auto(constitution: Constitution) -> Constitution:
    """``constitution`` with ``auto`` meaning the pairwise ``logprob`` mode: the tests that use
    it exercise the pairwise machinery with comparison-scripted fake judges (the built-in default,
    ``pointwise``, has tests of its own)."""
    return constitution.model_copy(
        update={"judge": constitution.judge.model_copy(update={"auto_mode": "logprob"})}
    )


@pytest.fixture(scope="session")
def cai() -> Constitution:
    """The built-in cai-harmless constitution with two principles per pair, ``auto`` pairwise
    and no request check."""
    loaded = load_constitution("cai-harmless").with_sampling(per_example=2)
    return pairwise_auto(without_request_check(loaded))


@pytest.fixture(scope="session")
def minimal() -> Constitution:
    """The built-in minimal constitution (one principle, one round), ``auto`` pairwise."""
    return pairwise_auto(load_constitution("minimal"))

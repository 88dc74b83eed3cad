"""The one failure policy of model calls: refused credentials stop the run, cancellation passes
through, anything else is a recorded CallFailure."""

from __future__ import annotations

import asyncio

import pytest

from rlaif.models import AuthenticationError, BackendError
from rlaif.runs import CallFailure, attempt
from rlaif.runs.failures import fatal


async def _returns(value: object) -> object:
    return value


async def _raises(error: BaseException) -> None:
    raise error


def test_a_call_that_answers_gives_its_result() -> None:
    assert asyncio.run(attempt(_returns(["a", "b"]))) == ["a", "b"]
    assert asyncio.run(attempt(_returns(None))) is None


def test_a_failed_call_becomes_a_failure_stated_as_records_state_it() -> None:
    failure = asyncio.run(attempt(_raises(BackendError("HTTP 500 after 3 tries"))))
    assert failure == CallFailure(kind="BackendError", message="HTTP 500 after 3 tries")
    assert str(failure) == "BackendError: HTTP 500 after 3 tries"
    assert str(asyncio.run(attempt(_raises(ValueError("bad json"))))) == "ValueError: bad json"


def test_refused_credentials_and_cancellation_stop_the_run() -> None:
    with pytest.raises(AuthenticationError):
        asyncio.run(attempt(_raises(AuthenticationError("401: invalid key"))))
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(attempt(_raises(asyncio.CancelledError())))
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(attempt(_raises(KeyboardInterrupt())))
    assert fatal(AuthenticationError("x")) and fatal(KeyboardInterrupt())
    assert not fatal(BackendError("x")) and not fatal(TimeoutError())

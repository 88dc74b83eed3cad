"""One failure policy for the model calls every job makes: what stops the run, what is recorded.

A model call has already been retried by the model (``rlaif.models``: rate limits, timeouts and
server errors, with backoff) when it reaches a job. What happens then is decided here, once:

- refused credentials (:class:`~rlaif.models.AuthenticationError`) stop the whole run, because
  every later call would fail the same way;
- cancellation and Ctrl-C are not ``Exception`` and pass through untouched;
- any other error is returned as a :class:`CallFailure`, which the job records on the item
  (a skipped record, a vote's error, a missing reply) before going on with the rest.

A job says what it does with a failure, not how it catches one::

    completions = await attempt(sample_responses(policy, prompt, prompt_id, sampling))
    if isinstance(completions, CallFailure):
        return skipped(f"failed: {completions}")
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from rlaif.models import AuthenticationError

T = TypeVar("T")


@dataclass(frozen=True)
class CallFailure:
    """A model call that failed after the model's retries; ``str()`` gives ``Kind: message``,
    as records and reports state it."""

    kind: str
    """The error's type name, e.g. ``BackendError``."""
    message: str
    """The error's message."""

    @classmethod
    def of(cls, error: BaseException) -> CallFailure:
        """The failure ``error`` stands for."""
        return cls(kind=type(error).__name__, message=str(error))

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def fatal(error: BaseException) -> bool:
    """Whether ``error`` stops the whole run instead of being recorded on its item."""
    return isinstance(error, AuthenticationError) or not isinstance(error, Exception)


async def attempt(call: Awaitable[T]) -> T | CallFailure:
    """``call``'s result, or the :class:`CallFailure` to record when it raised an error that
    does not stop the run (:func:`fatal` errors are raised)."""
    try:
        return await call
    except Exception as error:
        if fatal(error):
            raise
        return CallFailure.of(error)

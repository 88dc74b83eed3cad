"""Shared CLI plumbing: the console, user-error handling and the ``--debug`` switch."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from rlaif.errors import RlaifError, redact

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug = False


state = _State()

USER_ERROR_EXIT = 2
"""Exit status for errors the user can fix (bad input, bad config)."""
RUN_FAILED_EXIT = 1
"""Exit status of a job that ran but in which every item failed (calls or verdicts)."""


def user_errors(function: F) -> F:
    """Turn :class:`RlaifError` (and missing files) into one message on stderr and exit status 2,
    secrets redacted; with ``--debug`` the traceback is shown instead."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (RlaifError, FileNotFoundError) as error:
            if state.debug:
                raise
            message = str(error) if isinstance(error, RlaifError) else f"file not found: {error}"
            err_console.print(f"error: {redact(message)}", markup=False, soft_wrap=True)
            raise typer.Exit(USER_ERROR_EXIT) from None

    return wrapper  # type: ignore[return-value]


def echo(text: str = "") -> None:
    """Print plain text exactly (no markup, no wrapping)."""
    sys.stdout.write(text + "\n")

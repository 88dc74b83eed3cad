"""Shared CLI plumbing: the console, user-error handling and the ``--debug`` switch."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console, ConsoleDimensions

from rlaif.config import describe_validation_error, parse_key_values
from rlaif.constitution import library
from rlaif.errors import ConfigError, RlaifError, redact
from rlaif.runs.terminal import LOG_WIDTH


class _CliConsole(Console):
    """Rich's console, but :data:`~rlaif.runs.terminal.LOG_WIDTH` (160) columns wide when it
    writes to a pipe or file and ``COLUMNS`` is unset, as the progress displays are: rich's
    default of 80 cut table cells (``violence-and-wea…``, headers ``v…``). Decided at each
    print, so a terminal gets its own width."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal and not os.environ.get("COLUMNS"):
            return ConsoleDimensions(LOG_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = _CliConsole(highlight=False)
err_console = _CliConsole(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=str)


class _State:
    debug = False


state = _State()

USER_ERROR_EXIT = 2
"""Exit status for errors the user can fix (bad input, bad config)."""
RUN_FAILED_EXIT = 1
"""Exit status of a job that ran but in which every item failed (calls or verdicts)."""


def option_error(error: ValidationError) -> str:
    """One line for an options model's :class:`ValidationError`: each problem as
    ``--option: what is wrong (got VALUE)``, or the validator's own sentence."""
    return describe_validation_error(error, name=_flag, show_values=True)


def _flag(path: tuple[str | int, ...]) -> str:
    names = [str(part) for part in path if not isinstance(part, int)]
    return f"--{names[-1].replace('_', '-')}" if names else "value"


def os_error(error: OSError) -> str:
    """One line for a file that could not be read or written, with the system's reason."""
    where = error.filename if error.filename is not None else "a file"
    reason = error.strerror or str(error)
    if isinstance(error, FileNotFoundError):
        return f"{where}: not found ({reason})"
    if isinstance(error, IsADirectoryError):
        return f"{where}: is a folder, not a file"
    if isinstance(error, NotADirectoryError):
        return f"{where}: cannot be used: a folder in the path is a file ({reason})"
    return f"{where}: cannot be read or written ({reason})"


def user_errors(function: F) -> F:
    """Turn :class:`RlaifError`, invalid options and unreadable or unwritable files into one
    message on stderr and exit status 2, secrets redacted; with ``--debug`` the traceback is
    shown instead."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (RlaifError, ValidationError, OSError) as error:
            if state.debug:
                raise
            if isinstance(error, ValidationError):
                message = option_error(error)
            elif isinstance(error, OSError):
                message = os_error(error)
            else:
                message = str(error)
            err_console.print(f"error: {redact(message)}", markup=False, soft_wrap=True)
            raise typer.Exit(USER_ERROR_EXIT) from None

    return wrapper  # type: ignore[return-value]


def warn(text: str) -> None:
    """Print ``warning: text`` on stderr (plain text, one line)."""
    err_console.print(f"warning: {text}", markup=False, soft_wrap=True)


def constitution_name(value: str, option: str = "--constitution") -> str:
    """``value`` if it names a built-in constitution or an existing file (its contents are
    checked when it is loaded), else a :class:`ConfigError` that begins with ``option``."""
    problem = library.unknown_constitution(value, Path.cwd())
    if problem is None:
        return value
    kind, known = problem
    if kind == "file":
        raise ConfigError(f"{option} {value}: no such file")
    raise ConfigError(f"{option} {value!r}: no such built-in constitution or file; {known}")


def one_of(value: str, allowed: tuple[C, ...], option: str) -> C:
    """``value`` when it is one of ``allowed`` (typed as they are); otherwise a
    :class:`ConfigError` naming ``option`` and the choices (exit status 2)."""
    if value not in allowed:
        raise ConfigError(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def within(low: float, high: float | None = None) -> Callable[[Any], Any]:
    """An option callback refusing a number below ``low`` (or above ``high``) while the command
    line is parsed, before anything is loaded: click's one-line error names the option as typed
    (``-n``, ``--max-tokens``). The help text stays as it is (``min=`` would widen its table)."""

    def check(value: Any) -> Any:
        if value is not None and (value < low or (high is not None and value > high)):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise typer.BadParameter(f"must be {bounds} (got {value})")
        return value

    return check


def repeatable_model_option(role: str) -> Any:
    """The repeatable ``--<role>-option KEY=VALUE`` option of a command naming a ``role`` model
    (a :class:`~rlaif.models.ModelSpec` field or backend option, as ``get_model`` takes)."""
    model = "the model" if role == "model" else f"the {role} model"
    return typer.Option(
        [],
        f"--{role}-option",
        help=f"KEY=VALUE option of {model}, repeatable (base_url=..., "
        "max_concurrency=64, timeout_s=30, api_key_env=...).",
    )


BATCH = typer.Option(
    False,
    "--batch",
    help="Send the model calls through the provider's batch API (openai/, anthropic/): "
    "half price, answers within the provider's window; a killed run finds its batch again.",
)
"""The ``--batch`` switch of the commands that call models (``batch: true`` on each model)."""


def model_options(
    pairs: list[str] | None, flag: str = "--option", *, batch: bool = False
) -> dict[str, Any]:
    """``--judge-option KEY=VALUE`` strings to a dictionary (values read as YAML); ``batch``
    (the ``--batch`` switch) adds ``batch: true`` unless an option sets it."""
    options = parse_key_values(
        pairs, name=flag, malformed="{name} {pair!r} must look like KEY=VALUE"
    )
    if batch:
        options.setdefault("batch", True)
    return options


def echo(text: str = "") -> None:
    """Print plain text exactly (no markup, no wrapping)."""
    sys.stdout.write(text + "\n")

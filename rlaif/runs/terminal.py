"""What a long run shows on the terminal, and where everything else goes.

A pipeline stage shows one rich progress display of its own (items, rate, ETA, model calls,
cache hits, tokens; training steps and loss). Everything the libraries underneath print —
``datasets`` map bars, transformers load reports and warnings, TRL's printed dicts and
deprecation warnings, C-level output — goes to the stage's ``log.txt`` instead:
:func:`captured_output` points file descriptors 1 and 2 at the log for the duration of the block,
while :func:`display_console` keeps drawing on the real terminal (a duplicate of the original
stderr taken before the switch).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from rich.console import Console

_terminal: TextIO | None = None
"""The real terminal while output is captured (``None``: not capturing; use ``sys.stderr``)."""


LOG_WIDTH = 160
"""Columns a progress display gets when it writes to a file or pipe (``make quickstart | tee``,
CI logs) rather than a terminal, unless ``COLUMNS`` says otherwise: rich's default of 80 cut the
rate, ETA and token columns to ``…``."""


def display_console() -> Console:
    """The console progress displays draw on: the terminal, even while a stage's library output
    is captured into its log."""
    stream = _terminal if _terminal is not None else sys.stderr
    width = None if _is_terminal(stream) or os.environ.get("COLUMNS") else LOG_WIDTH
    if _terminal is not None:
        return Console(file=_terminal, width=width)
    return Console(stderr=True, width=width)


def announce(line: str) -> None:
    """Print one line where progress displays draw (the terminal, even while library output is
    captured): what a job is about to do, e.g. how its judge will label."""
    display_console().print(line, highlight=False, markup=False, soft_wrap=True)


def report_repair(path: Path, removed: int) -> None:
    """Warn, in one line where progress displays draw, that ``removed`` bytes, a last line cut
    short by a killed run, were taken off the end of ``path`` (nothing when ``removed`` is 0)."""
    if removed:
        announce(
            f"warning: removed a cut-short last line ({removed} bytes) from {path}, as a killed "
            "run leaves it; the rest of the file is kept"
        )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream
        return False


def capturing() -> bool:
    """Whether library output is being captured into a log right now."""
    return _terminal is not None


@contextlib.contextmanager
def captured_output(log_path: Path) -> Iterator[Path]:
    """Within this block, everything written to stdout and stderr (by Python, the libraries'
    loggers and progress bars, and C code) is appended to ``log_path``; :func:`display_console`
    still reaches the terminal. Nested use keeps the outer log."""
    global _terminal
    if _terminal is not None:
        yield log_path
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    terminal = os.fdopen(os.dup(saved[2]), "w", buffering=1, encoding="utf-8", errors="replace")
    streams = (sys.stdout, sys.stderr)
    with log_path.open("a", encoding="utf-8", buffering=1) as log:
        os.dup2(log.fileno(), 1)  # C code and handlers holding the old streams' file descriptors
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log  # Python code, wherever sys.stdout pointed (a notebook)
        _terminal = terminal
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")  # each warning once per place, into the log
                warnings.showwarning = _writer(log)
                yield log_path
        finally:
            log.flush()
            sys.stdout, sys.stderr = streams
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            _terminal = None
            terminal.close()


def _writer(log: TextIO) -> Callable[..., None]:
    """A ``warnings.showwarning`` that writes to ``log``."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        log.write(warnings.formatwarning(message, category, filename, lineno, line))

    return show

"""Progress displays written to a file or pipe (``make quickstart | tee``, CI logs) keep every
column instead of rich's 80-column cut."""

from __future__ import annotations

import io
import sys

import pytest

from rlaif.runs import terminal
from rlaif.runs.progress import progress_display

STATS = "calls 208 (cache 0) · tokens 12.4k in, 12.2k out"


def _rendered(monkeypatch: pytest.MonkeyPatch) -> str:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_display("{task.speed} it/s", "stats") as progress:
        task = progress.add_task("distill (contrastive)", total=208, stats=STATS)
        progress.update(task, completed=208)
    return stream.getvalue()


def test_a_display_on_a_pipe_keeps_its_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    shown = _rendered(monkeypatch)
    assert STATS in shown and "208/208" in shown
    assert "…" not in shown


def test_columns_set_by_the_user_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    assert terminal.display_console().width == 60


def test_a_transient_display_leaves_nothing_in_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_display("x", "stats", transient=True) as progress:
        task = progress.add_task("judging", total=3, stats="")
        progress.update(task, completed=3)
    assert stream.getvalue() == ""

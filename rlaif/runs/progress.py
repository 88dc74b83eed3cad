"""The progress bar of a long run: items done, rate, ETA, and its tally's statistics (model calls,
cache hits, tokens, cost so far, orders that agreed). It only draws and listens: the counting lives
in :class:`RunTally`, and the tokens come from the models' usage events while the bar is open."""

from __future__ import annotations

import contextlib
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rlaif.models.usage import Usage, observe_usage
from rlaif.runs.tally import CountedJudgment, RunTally
from rlaif.runs.terminal import display_console


def progress_display(middle: str, field: str, *, transient: bool = False) -> Progress:
    """The one look of every progress display: description, bar, done/total, ``middle`` (a
    rate, a unit), elapsed, ETA and the task field ``field`` (statistics), drawn on the
    terminal (:func:`display_console`). A ``transient`` display (gone when done) is not drawn
    where the console is a file or pipe: there it would leave only an empty line."""
    console = display_console()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(middle),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn(f"{{task.fields[{field}]}}"),
        console=console,
        transient=transient,
        disable=transient and not console.is_terminal,
    )


class RunProgress:
    """Counts finished items and draws a rich progress bar on the terminal when ``enabled``; the
    statistics column shows ``tally``. While it is open, every model's usage events (calls,
    cache hits, tokens, cost) add to the tally: no worker counts calls by hand, so what a run
    prints is what its usage journal and manifest record. Workers add judge statistics only
    (:meth:`add_judgment`)."""

    def __init__(
        self,
        total: int,
        description: str = "labelling",
        *,
        enabled: bool = True,
        tally: RunTally | None = None,
        transient: bool = False,
    ):
        self.total = total
        self.description = description
        self.enabled = enabled
        self.tally = tally or RunTally()
        self.transient = transient
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._listening = contextlib.ExitStack()

    def _observe(self, model: str, delta: Usage) -> None:
        self.tally.add_usage(delta)

    def __enter__(self) -> RunProgress:
        self._listening.enter_context(observe_usage(self._observe))
        if self.enabled:
            self._progress = progress_display(
                "{task.fields[rate]}", "stats", transient=self.transient
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.description, total=self.total, rate="", stats=self.tally.describe()
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._listening.close()

    def add_judgment(self, judgment: CountedJudgment) -> None:
        """Count a judgment's statistics in the tally and refresh them (does not advance)."""
        self.tally.add_judgment(judgment)
        self.advance(0)

    def restart(self, done: int = 0) -> None:
        """Count from ``done`` again (the next pass over the same units, after a provider batch,
        or a resumed run whose first ``done`` units are stored)."""
        if self._progress is not None and self._task is not None:
            self._progress.reset(self._task, total=self.total, completed=done)

    def advance(self, steps: int = 1) -> None:
        """Move the bar forward by ``steps`` finished items and refresh the statistics."""
        if self._progress is None or self._task is None:
            return
        task = self._progress.tasks[self._task]
        speed = task.speed
        rate = f"{speed:.2f}/s" if speed else ""
        self._progress.update(self._task, advance=steps, rate=rate, stats=self.tally.describe())

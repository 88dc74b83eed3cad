"""The progress bar of a long run: items done, rate, ETA, and its tally's statistics (cache hits,
cost so far, orders that agreed). It only draws; the counting lives in :class:`RunTally`."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rlaif.runs.tally import CountedJudgment, RunTally


class RunProgress:
    """Counts finished items and draws a rich progress bar on stderr when ``enabled``; the
    statistics column shows ``tally``, which the run's workers update."""

    def __init__(
        self,
        total: int,
        description: str = "labelling",
        *,
        enabled: bool = True,
        tally: RunTally | None = None,
    ):
        self.total = total
        self.description = description
        self.enabled = enabled
        self.tally = tally or RunTally()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[stats]}"),
                console=Console(stderr=True),
                transient=False,
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

    def add_judgment(self, judgment: CountedJudgment) -> None:
        """Count a judgment in the tally and refresh the statistics (does not advance)."""
        self.tally.add_judgment(judgment)
        self.advance(0)

    def add_calls(self, calls: int, cache_hits: int = 0, cost_usd: float | None = None) -> None:
        """Count model calls made outside a judgment (sampling, critiques)."""
        self.tally.add_calls(calls, cache_hits, cost_usd)

    def restart(self) -> None:
        """Count from 0 again (the next pass over the same units, after a provider batch)."""
        if self._progress is not None and self._task is not None:
            self._progress.reset(self._task, total=self.total)

    def advance(self, steps: int = 1) -> None:
        """Move the bar forward by ``steps`` finished items and refresh the statistics."""
        if self._progress is None or self._task is None:
            return
        task = self._progress.tasks[self._task]
        speed = task.speed
        rate = f"{speed:.2f}/s" if speed else ""
        self._progress.update(self._task, advance=steps, rate=rate, stats=self.tally.describe())

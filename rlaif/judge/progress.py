"""A progress bar for labelling runs: rate, ETA, cache hits, cost so far and the running rate
of pairs whose two presentation orders agreed."""

from __future__ import annotations

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

from rlaif.judge.judgment import Judgment


class LabelProgress:
    """Counts finished items and the judge statistics behind them; draws a rich progress bar
    on stderr when ``enabled``."""

    def __init__(self, total: int, description: str = "labelling", *, enabled: bool = True):
        self.total = total
        self.description = description
        self.enabled = enabled
        self.cache_hits = 0
        self.calls = 0
        self.cost_usd = 0.0
        self.consistent = 0
        self.judged_both_orders = 0
        self.missing = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> LabelProgress:
        if self.enabled:
            from rich.console import Console

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
                self.description, total=self.total, rate="", stats=self.stats()
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

    @property
    def consistency_rate(self) -> float | None:
        """Share of pairs judged in both orders whose orders agreed."""
        if not self.judged_both_orders:
            return None
        return self.consistent / self.judged_both_orders

    def stats(self) -> str:
        """The statistics column text."""
        parts = [f"cache {self.cache_hits}/{self.calls}", f"${self.cost_usd:.4f}"]
        if self.consistency_rate is not None:
            parts.append(f"consistent {self.consistency_rate:.0%}")
        if self.missing:
            parts.append(f"missing {self.missing}")
        return " · ".join(parts)

    def add_judgment(self, judgment: Judgment) -> None:
        """Count one judgment's calls, cache hits, cost and consistency (does not advance)."""
        self.calls += len(judgment.votes)
        self.cache_hits += judgment.cache_hits
        self.cost_usd += judgment.cost_usd or 0.0
        if judgment.missing:
            self.missing += 1
        if judgment.consistent is not None:
            self.judged_both_orders += 1
            self.consistent += int(judgment.consistent)
        self.advance(0)

    def add_calls(self, calls: int, cache_hits: int = 0, cost_usd: float | None = None) -> None:
        """Count model calls made outside a judgment (sampling, critiques)."""
        self.calls += calls
        self.cache_hits += cache_hits
        self.cost_usd += cost_usd or 0.0

    def advance(self, steps: int = 1) -> None:
        """Move the bar forward by ``steps`` finished items and refresh the statistics."""
        if self._progress is None or self._task is None:
            return
        task = self._progress.tasks[self._task]
        speed = task.speed
        rate = f"{speed:.2f}/s" if speed else ""
        self._progress.update(self._task, advance=steps, rate=rate, stats=self.stats())

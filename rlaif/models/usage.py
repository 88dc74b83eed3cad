"""Token, cost and time accounting per model, and the summary table printed at the end of every
command."""

from __future__ import annotations

import contextlib
import contextvars
import io
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


@dataclass
class Usage:
    """Running totals for one model. Cache hits are counted apart: they cost nothing."""

    calls: int = 0
    """Calls that reached the backend and succeeded."""
    cache_hits: int = 0
    """Calls answered from the response cache."""
    errors: int = 0
    """Calls that failed after every retry (or at once, for non-retryable errors)."""
    retries: int = 0
    """Extra attempts made after retryable failures."""
    abandoned: int = 0
    """Attempts given up client-side (timeouts) that the server may have run to the end: they
    keep counting against the in-flight limit for a while, and may have been paid."""
    in_flight: int = 0
    """Attempts sent to the backend and not yet ended (+1 as one is sent, −1 as it ends). Summed
    over a run's journal, what is left is the attempts of a killed process that it never saw
    end: the server may have answered, and billed, them."""
    input_tokens: int = 0
    """Prompt tokens of the calls that reached the backend."""
    output_tokens: int = 0
    """Generated tokens of the calls that reached the backend."""
    cost_usd: float = 0.0
    """US dollars spent (priced models only)."""
    seconds: float = 0.0
    """Summed backend latency (concurrent calls overlap, so this can exceed wall time)."""

    def add(self, result: Any) -> None:
        """Count one :class:`~rlaif.models.types.Completion` or
        :class:`~rlaif.models.types.ChoiceScores`."""
        if result.cached:
            self.cache_hits += 1
            return
        self.calls += 1
        self.input_tokens += result.input_tokens
        self.output_tokens += result.output_tokens
        self.cost_usd += result.cost_usd or 0.0
        self.seconds += result.latency_s

    def merge(self, other: Usage) -> None:
        """Add ``other``'s totals to these."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def as_dict(self) -> dict[str, int | float]:
        """The non-zero totals, by field name (a usage journal line)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


UsageObserver = Callable[[str, Usage], None]
"""Called with a model's name and what one event added to its usage (a call, a cache hit, a
retry, an error, an abandoned attempt)."""

_OBSERVERS: contextvars.ContextVar[tuple[UsageObserver, ...]] = contextvars.ContextVar(
    "rlaif_usage_observers", default=()
)


@contextlib.contextmanager
def observe_usage(observer: UsageObserver) -> Iterator[None]:
    """Within this block (and the tasks started in it), report every model's usage events to
    ``observer`` as they happen: the resumable jobs journal them, so that a killed run's calls
    still reach the manifest."""
    token = _OBSERVERS.set((*_OBSERVERS.get(), observer))
    try:
        yield
    finally:
        _OBSERVERS.reset(token)


def report_usage(model: str, delta: Usage) -> None:
    """Tell the observers of the current context that ``model`` used ``delta``."""
    for observer in _OBSERVERS.get():
        observer(model, delta)


class PricedSpec(Protocol):
    """The part of a model spec the usage table reads."""

    @property
    def is_priced(self) -> bool: ...


class Tracked(Protocol):
    """What usage accounting needs of a model (:class:`rlaif.models.Model` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def usage(self) -> Usage: ...

    @property
    def spec(self) -> PricedSpec: ...


_LIVE_MODELS: weakref.WeakSet[Tracked] = weakref.WeakSet()


def track(model: Tracked) -> None:
    """Remember ``model`` so :func:`usage_summary` can report it (held weakly)."""
    _LIVE_MODELS.add(model)


def live_models() -> list[Tracked]:
    """Every model created in this process that is still alive, by name."""
    return sorted(_LIVE_MODELS, key=lambda m: m.name)


def usage_rows(models: Iterable[Tracked] | None = None) -> list[dict[str, Any]]:
    """One dict per model that did anything: name, calls, cache_hits, errors, retries,
    abandoned, input_tokens, output_tokens, cost_usd (``None`` when unpriced), seconds."""
    rows = []
    for model in live_models() if models is None else list(models):
        usage = model.usage
        if not (usage.calls or usage.cache_hits or usage.errors):
            continue
        rows.append(
            {
                "model": model.name,
                "calls": usage.calls,
                "cache_hits": usage.cache_hits,
                "errors": usage.errors,
                "retries": usage.retries,
                "abandoned": usage.abandoned,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost_usd": usage.cost_usd if model.spec.is_priced else None,
                "seconds": round(usage.seconds, 2),
            }
        )
    return rows


def usage_table(models: Iterable[Tracked] | None = None) -> Table:
    """A rich table of :func:`usage_rows` (all live models when ``models`` is ``None``)."""
    from rich.table import Table

    table = Table(title="Model usage", title_justify="left")
    table.add_column("model", no_wrap=True)
    for column in ("calls", "cached", "errors", "retries", "tokens in", "tokens out", "cost $"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("model s", justify="right", no_wrap=True)
    counts = ("calls", "cache_hits", "errors", "retries", "input_tokens", "output_tokens")
    for row in usage_rows(models):
        cost = "-" if row["cost_usd"] is None else f"{row['cost_usd']:.4f}"
        table.add_row(row["model"], *(f"{row[k]:,}" for k in counts), cost, f"{row['seconds']:.1f}")
    return table


def print_usage_summary(
    models: Iterable[Tracked] | None = None, console: Console | None = None
) -> None:
    """Print the usage table (to stderr by default); prints nothing when no model was used."""
    from rich.console import Console

    table = usage_table(models)
    if table.row_count:
        (console or Console(stderr=True, highlight=False, width=120)).print(table)


def usage_summary(models: Iterable[Tracked] | None = None, width: int = 120) -> str:
    """The usage table as plain text ("" when no model was used)."""
    from rich.console import Console

    table = usage_table(models)
    if not table.row_count:
        return ""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.export_text()

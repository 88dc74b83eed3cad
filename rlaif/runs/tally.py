"""What a run has spent so far: model calls, cache hits, cost, and the judge statistics (orders
that agreed, verdicts missing) that a labelling run shows while it goes and records at the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rlaif.models.usage import Usage


class CountedJudgment(Protocol):
    """The parts of a judgment a tally counts (``rlaif.judge.Judgment`` has them)."""

    @property
    def missing(self) -> bool: ...

    @property
    def consistent(self) -> bool | None: ...


@dataclass
class RunTally:
    """Running totals of one run: its model usage (the same :class:`~rlaif.models.usage.Usage`
    every model keeps, summed over the run's models) and the judge statistics."""

    usage: Usage = field(default_factory=Usage)
    """Calls that reached a backend, cache hits apart, and their cost."""
    consistent: int = 0
    """Pairs judged in both orders whose two orders agreed."""
    judged_both_orders: int = 0
    """Pairs judged in both presentation orders."""
    missing: int = 0
    """Judgments with no usable verdict."""

    @property
    def calls(self) -> int:
        """Model calls this run, cache hits included."""
        return self.usage.calls + self.usage.cache_hits

    @property
    def cache_hits(self) -> int:
        """Calls answered from the response cache."""
        return self.usage.cache_hits

    @property
    def cost_usd(self) -> float:
        """Price of this run's calls (priced models only)."""
        return self.usage.cost_usd

    @property
    def consistency_rate(self) -> float | None:
        """Share of pairs judged in both orders whose orders agreed (``None`` before any)."""
        if not self.judged_both_orders:
            return None
        return self.consistent / self.judged_both_orders

    def add_usage(self, delta: Usage) -> None:
        """Count a model's usage event (calls, cache hits, tokens, cost): the one source of
        what a run spent, the same events its usage journal and manifest record."""
        self.usage.calls += delta.calls
        self.usage.cache_hits += delta.cache_hits
        self.usage.input_tokens += delta.input_tokens
        self.usage.output_tokens += delta.output_tokens
        self.usage.cost_usd += delta.cost_usd

    def add_judgment(self, judgment: CountedJudgment) -> None:
        """Count one judgment's consistency and whether it is missing (its calls arrive as
        usage events)."""
        if judgment.missing:
            self.missing += 1
        if judgment.consistent is not None:
            self.judged_both_orders += 1
            self.consistent += int(judgment.consistent)

    def describe(self) -> str:
        """The one-line statistics a progress bar shows."""
        parts = [f"calls {self.calls} (cache {self.cache_hits})"]
        if self.usage.input_tokens or self.usage.output_tokens:
            parts.append(
                f"tokens {_short(self.usage.input_tokens)} in, "
                f"{_short(self.usage.output_tokens)} out"
            )
        if self.cost_usd:
            parts.append(f"${self.cost_usd:.4f}")
        if self.consistency_rate is not None:
            parts.append(f"consistent {self.consistency_rate:.0%}")
        if self.missing:
            parts.append(f"missing {self.missing}")
        return " · ".join(parts)


def _short(count: int) -> str:
    """A token count for a progress line: 950, 12.3k, 4.1M."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"

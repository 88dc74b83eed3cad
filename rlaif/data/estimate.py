"""A statistic with its bootstrap interval, as metrics files record it (agreement, reward-model
accuracy, refusal rates): computed by :mod:`rlaif.eval.bootstrap`, read back by whatever checks
a measurement (the agreement gate)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Estimate(BaseModel):
    """A statistic with its bootstrap interval."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    value: float | None
    """Point estimate on the whole sample (``None`` when nothing could be measured)."""
    low: float | None = None
    """Lower end of the interval (``None`` when fewer than two observations)."""
    high: float | None = None
    """Upper end of the interval."""
    n: int = 0
    """Observations (pairs) the estimate rests on."""

    def format(self, digits: int = 3, percent: bool = False) -> str:
        """``0.512 [0.471, 0.553]`` (or percentages), ``n/a`` when missing."""
        if self.value is None:
            return "n/a"

        def show(x: float) -> str:
            return f"{100 * x:.{max(digits - 2, 0)}f}%" if percent else f"{x:.{digits}f}"

        if self.low is None or self.high is None:
            return show(self.value)
        return f"{show(self.value)} [{show(self.low)}, {show(self.high)}]"

    def excludes(self, reference: float) -> bool:
        """True when the interval lies entirely on one side of ``reference``."""
        if self.low is None or self.high is None:
            return False
        return self.low > reference or self.high < reference

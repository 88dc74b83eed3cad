"""Typed results of a policy evaluation (``rlaif eval policy``): win rates, Elo, refusal rates,
reward-model scores and examples; ``metrics.json`` is :class:`PolicyMetrics` dumped as JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from rlaif.eval.bootstrap import Estimate
from rlaif.eval.results import BootstrapInfo, Histogram, MetricsModel, omitted_when_none


class WinRateRow(MetricsModel):
    """Soft win rate of one model over another on one prompt group."""

    model: str
    """The model whose win rate this is."""
    versus: str
    """The model it is compared with."""
    group: str
    """Prompt group."""
    prompts: int
    """Prompts in the group."""
    win_rate: Estimate
    """Mean probability the judge prefers ``model``'s reply."""
    wins: int
    """Prompts the judge gives to ``model``."""
    ties: int
    """Prompts judged a tie."""
    losses: int
    """Prompts the judge gives to ``versus``."""
    missing: int
    """Prompts without a verdict."""
    constitution: str | None = None
    """The constitution the judge compared the replies under (what "better" meant)."""


class EloRow(MetricsModel):
    """One model's Elo rating."""

    model: str
    """Model name."""
    elo: float | None
    """Rating (anchor at 1000)."""
    low: float | None
    """Lower end of the 95% interval."""
    high: float | None
    """Upper end."""


class CategoryRefusals(MetricsModel):
    """Refusal rates in one prompt category (point values)."""

    prompts: int
    """Prompts in the category."""
    lexical: float
    """Refusal rate by the lexical rule."""
    judge: float | None
    """Refusal rate by the judge model."""


class GroupRefusals(MetricsModel):
    """Refusal rates of one model on one prompt group, by both detectors."""

    prompts: int
    """Prompts with a reply."""
    lexical: Estimate
    """Refusal rate by the lexical rule."""
    judge: Estimate
    """Refusal rate by the judge model."""
    judge_missing: int
    """Replies the judge was asked about and could not classify (replies outside the judged
    subset, ``judge_limit``, are not counted here: ``judge.n`` says how many it rated)."""
    detectors_agree: Estimate
    """Share of replies both detectors classify alike."""
    detectors_kappa: float | None
    """Cohen's kappa between the detectors."""
    by_category: dict[str, CategoryRefusals]
    """Rates per prompt category."""


class RewardScores(MetricsModel):
    """Reward-model scores of one model's replies."""

    histogram: Histogram
    """Score histogram (bins shared by all models)."""
    red_team: Estimate | None = omitted_when_none(alias="red-team")
    """Mean score on red-team prompts."""
    benign: Estimate | None = omitted_when_none()
    """Mean score on benign prompts."""

    def group(self, name: str) -> Estimate | None:
        """The mean score on prompt group ``name`` (``red-team`` or ``benign``)."""
        return self.red_team if name == "red-team" else self.benign if name == "benign" else None


class PolicyExample(MetricsModel):
    """A prompt with every model's reply, for the report."""

    id: str
    """Prompt id."""
    group: str
    """Prompt group."""
    prompt: str
    """The request (clipped)."""
    replies: dict[str, str]
    """Reply per model (clipped)."""


Reading = Literal["improved", "no change detected", "got worse"]
"""What a paired change says, in words: the interval lies above or below the no-change value, or
it holds it."""


class PairedChange(MetricsModel):
    """One measure of a policy against its baseline on the same prompts: the mean per-prompt
    difference (policy minus baseline), its paired bootstrap interval (prompts resampled, both
    replies of a prompt kept together), and what it means."""

    model: str
    """The policy (after)."""
    versus: str
    """The baseline (before)."""
    group: str
    """Prompt group (``red-team`` or ``benign``)."""
    measure: str
    """What is compared (``refusal, lexical rule``, ``refusal, judge``)."""
    evaluator: str
    """What produced the numbers: ``lexical rule`` or the judge model's name."""
    difference: Estimate
    """Mean of (after − before) over prompts where both were measured, as a fraction."""
    higher_is_better: bool
    """Whether a rise is an improvement (refusal on red-team prompts) or not (on benign)."""
    reading: Reading
    """The change in words."""


class PolicyMetrics(MetricsModel):
    """``metrics.json`` of ``rlaif eval policy``."""

    kind: Literal["policy"] = "policy"
    """Report kind."""
    policies: list[str]
    """Policies evaluated."""
    baseline: str | None
    """The model policies are compared against."""
    judge: str
    """Judge name."""
    constitution: str
    """Constitution the judge used."""
    n_prompts: int
    """Prompts evaluated."""
    groups: dict[str, int]
    """Prompts per group."""
    generation_failures: dict[str, int]
    """Prompts without a reply, per model."""
    win_rates: list[WinRateRow]
    """Win rates of each policy over the baseline, per group."""
    elo: list[EloRow] | None
    """Elo table (three or more models)."""
    refusal: dict[str, dict[str, GroupRefusals]]
    """Refusal rates per model and group."""
    changes: list[PairedChange] = Field(default_factory=list)
    """Paired before/after differences of the refusal rates, each policy against the baseline."""
    reward: dict[str, RewardScores] | None
    """Reward-model scores per model (with a reward model)."""
    examples: list[PolicyExample]
    """A few prompts with every reply."""
    settings: dict[str, Any]
    """Run settings."""
    bootstrap: BootstrapInfo
    """Interval settings."""

    def win_rate(self, model: str, versus: str, group: str) -> WinRateRow | None:
        """The win-rate row of ``model`` over ``versus`` on ``group``, if measured."""
        return next(
            (
                r
                for r in self.win_rates
                if r.model == model and r.versus == versus and r.group == group
            ),
            None,
        )

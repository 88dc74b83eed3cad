"""How a pairwise judge labels, declared once.

:class:`JudgeSettings` holds the choices that shape a judge's labels, with their defaults: the
mode, the presentation orders, the principles asked a pair, the CoT band, the position prior
and what a failed vote does. :class:`~rlaif.judge.PairwiseJudge` is built from them
(:meth:`~rlaif.judge.PairwiseJudge.from_settings`), ``rlaif label``'s options
(:class:`~rlaif.datagen.label_options.LabelOptions`) inherit them, and the command line's
defaults are checked against them (tests/cli/test_option_defaults.py). What else a judge takes
(its seed, how much text it reads) belongs to the job that runs it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rlaif.judge.modes import Mode

DEFAULT_COT_BAND = (0.4, 0.6)
"""The clamp of chain-of-thought probabilities (the CAI paper's 0.4-0.6)."""


class JudgeSettings(BaseModel):
    """How a pairwise judge labels a pair (see the module)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    mode: Mode = "auto"
    """How the judge gives verdicts (``auto``: chosen by what the judge can do,
    :func:`~rlaif.judge.modes.auto_choice`)."""
    both_orders: bool = True
    """Judge both presentation orders and average (else one random order, recorded)."""
    principles_per_pair: int | None = Field(default=None, ge=1)
    """Principles per pair (default: the constitution's ``sampling.per_example``)."""
    cot_band: tuple[float, float] = DEFAULT_COT_BAND
    """Clamp of chain-of-thought probabilities."""
    position_prior: float | None = None
    """The judge's prior logit for the first-shown response, removed from each soft vote
    (``position_prior_logit`` of an ``rlaif eval agreement`` run of the same judge)."""
    partial_ensembles: bool = False
    """When one of a pair's votes fails after every retry, label the pair from the votes that
    answered (each order needs one; the judgment's notes name the gap) instead of skipping it as
    failed (the default: a failed call is never averaged away)."""

    @classmethod
    def of(cls, source: BaseModel) -> JudgeSettings:
        """The judge settings of ``source``, a model that has these fields (label options)."""
        return cls(**{name: getattr(source, name) for name in cls.model_fields})

    def judge_arguments(self) -> dict[str, Any]:
        """These settings as :class:`~rlaif.judge.PairwiseJudge`'s keyword arguments."""
        return {name: getattr(self, name) for name in type(self).model_fields}

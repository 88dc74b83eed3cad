"""The options and summary of ``rlaif label`` (what the CLI parses, what a run reports)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from rlaif.datagen.run_options import (
    CheckedSampling,
    DatasetJobOptions,
    InputFile,
    OutputFile,
)
from rlaif.judge.gate import AgreementGate
from rlaif.judge.sampling import ContrastiveAffixes, SamplingSettings
from rlaif.judge.settings import JudgeSettings
from rlaif.runs import RunSummary

Strategy = Literal["judge", "revision", "contrastive"]
"""How preference pairs are built: judged samples, revision over initial, or RLCD contrast."""

STRATEGIES: tuple[str, ...] = get_args(Strategy)
"""The strategies, in the order ``--help`` lists them."""

DEFAULT_TIE_MARGIN = 0.05
"""The least margin ``|2p - 1|`` of a kept label (below it, a pair is skipped as a tie)."""


class LabelOptions(DatasetJobOptions, JudgeSettings):
    """Everything ``rlaif label`` needs. Give exactly one input: ``candidates``, ``pairs``,
    ``prompts`` (with ``policy``) or ``sft`` (revision strategy). How the judge labels (mode,
    orders, principles a pair, CoT band, position prior, partial ensembles) is
    :class:`~rlaif.judge.settings.JudgeSettings`'s, declared there."""

    model_roles = ("judge", "policy")
    input_options = ("candidates", "pairs", "prompts", "sft")

    constitution: str
    """Built-in constitution name or YAML path."""
    judge: str
    """``provider/model`` of the judge (also the critic of the ``revision`` strategy)."""
    judge_options: dict[str, Any] = Field(default_factory=dict)
    """Options of ``judge``: :class:`~rlaif.models.ModelSpec` fields or backend options
    (``base_url``, ``max_concurrency``, ``timeout_s``, ...), as ``get_model(judge, **options)``."""
    out: OutputFile
    """Output preference file (``.jsonl``; with ``format=parquet`` a ``.parquet`` copy too)."""
    strategy: Strategy = "judge"
    """How pairs are built: judged samples, revision over initial, or RLCD contrast."""
    candidates: InputFile | None = None
    """``rlaif generate`` output: K responses per prompt."""
    pairs: InputFile | None = None
    """Pairs to judge (``response_1``/``response_2``, or human-labelled ``chosen``/``rejected``)."""
    prompts: str | None = None
    """Prompt set (path or built-in name) to sample responses for, with ``policy``."""
    policy: str | None = None
    """``provider/model`` of the policy that samples responses for ``prompts``."""
    policy_options: dict[str, Any] = Field(default_factory=dict)
    """Options of ``policy`` (as ``judge_options``)."""
    sft: InputFile | None = None
    """``rlaif critique`` output, for the ``revision`` strategy without new critiques."""
    tie_margin: float = Field(default=DEFAULT_TIE_MARGIN, ge=0.0, le=1.0)
    """Pairs whose margin ``|2p - 1|`` is below this go to the skipped file as ties (a pair at
    exactly p = 0.5 always does: it prefers neither response)."""
    drop_inconsistent: bool = False
    """Also skip pairs whose two presentation orders disagree."""
    retry_failed: bool = False
    """Also try again the pairs an earlier run into ``out`` skipped as missing verdicts
    (unreadable answers). Pairs skipped because a call failed are always tried again."""
    max_pairs_per_prompt: int = Field(default=6, ge=1)
    """For K > 4 responses per prompt, how many of the K(K-1)/2 pairs to judge."""
    sampling: CheckedSampling = Field(default_factory=SamplingSettings)
    """How the policy samples responses (``prompts`` input)."""
    confirm: bool = False
    """Ask the judge to confirm revision/contrastive pairs (see ``confirm_mode``)."""
    confirm_mode: Literal["filter", "audit"] = "filter"
    """With ``confirm``: ``filter`` skips pairs the judge does not confirm and makes its
    probability the soft label; ``audit`` keeps the construction's label on every pair and records
    the judge's verdict beside it, so the judge is measured against the construction without
    deciding (for judges too weak or biased to filter)."""
    affixes: ContrastiveAffixes | None = None
    """RLCD steering of the contrastive strategy (default: the constitution's ``contrast``)."""
    affix_form: Literal["system", "prefill", "both"] | None = None
    """Steer with the system prompt, the prefill or both, whatever the affixes say."""
    rounds: int | None = Field(default=None, ge=1)
    """Critique-revision rounds of the revision strategy (default: the constitution's)."""
    critic_max_tokens: int = Field(default=256, ge=1)
    """Token budget of each critique and revision."""
    gate: AgreementGate | None = None
    """Refuse to label unless the judge's measured agreement with human labels (an ``rlaif eval
    agreement`` run, for the mode this judge labels in) reaches the gate's thresholds; checked
    before any call. Not part of what a resumed run must share."""
    seed: int = 0
    """Seeds principle sampling, pair selection and delimiter codes."""

    @model_validator(mode="after")
    def _checked(self) -> LabelOptions:
        low, high = self.cot_band
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"cot band must satisfy 0 <= LOW <= HIGH <= 1, got {low},{high}")
        return self


class LabelSummary(RunSummary):
    """What a labelling run did (``calls`` counts judge and policy calls)."""

    cost_usd: float
    """Price of this run's calls."""
    consistency_rate: float | None
    """Share of pairs judged in both orders whose orders agreed (this run)."""
    gate: str | None = None
    """The agreement gate the judge passed before labelling (its summary line), if any."""
    confirmation_rate: float | None = None
    """Share of judged revision/contrastive pairs on which the judge preferred the constructed
    better response by at least the tie margin (over every run into ``out``; None if none)."""

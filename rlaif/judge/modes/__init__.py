"""Judge modes as objects: how the pairwise judge turns one pair into votes and one judgment.

A mode is chosen by name (``--mode``, ``stages.label.mode``: :func:`mode_names`), and everything
that differs between modes lives on its object, not in branches on the name elsewhere:

- :class:`LogprobMode` (``logprob``): one forward pass a vote over a prompt whose assistant turn
  is prefilled with the answer's opening; the soft probability of ``A`` against ``B``.
- :class:`GenerateMode` (``generate``): a parsed verdict (structured output where the backend
  has it); 1 or 0.
- :class:`CotMode` (``cot``): reasoning, then a verdict line, read as a probability where the
  backend can score it and clamped to the judge's ``cot_band``.
- :class:`PointwiseMode` (``pointwise``): each response scored alone under the principle's own
  question; ``p = sigmoid(s1 - s2)``, free of position by construction.

Each mode is one module of this package; this module is the registry. What a mode declares: whether
its verdicts are read from choice log-probabilities (:attr:`JudgeMode.soft`, so the backend must
return them), whether it shows the pair in presentation orders (:attr:`JudgeMode.ordered`), the
stage whose principles it samples and the template it renders (:attr:`JudgeMode.stage`,
:attr:`JudgeMode.template`), the opening it prefills, the votes of a pair, how they combine, and
what one of its requests looks like and costs (for ``--dry-run`` estimates). A new mode is one
module with one class and one line in :data:`JUDGE_MODES`, or a package's entry point in the
``rlaif.judge_modes`` group (an object or class of :class:`JudgeMode`; docs/architecture.md, "Adding
a judge mode").
:func:`auto_choice` says which built-in mode ``auto`` stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator

from rlaif.errors import ConfigError
from rlaif.judge.modes.base import Ballot, ComparisonMode, JudgeMode, Plan, Shown
from rlaif.judge.modes.cot import CotMode
from rlaif.judge.modes.generate import GenerateMode
from rlaif.judge.modes.logprob import LogprobMode
from rlaif.judge.modes.pointwise import PointwiseMode

if TYPE_CHECKING:
    from rlaif.constitution import Constitution
    from rlaif.models import Model

__all__ = [
    "AUTO",
    "ENTRY_POINT_GROUP",
    "JUDGE_MODES",
    "Ballot",
    "ComparisonMode",
    "CotMode",
    "GenerateMode",
    "JudgeMode",
    "LogprobMode",
    "Mode",
    "ModeChoice",
    "Plan",
    "PointwiseMode",
    "Shown",
    "auto_choice",
    "choose_mode",
    "judge_mode",
    "mode_names",
    "position_free",
]

JUDGE_MODES: dict[str, JudgeMode] = {
    mode.name: mode for mode in (LogprobMode(), GenerateMode(), CotMode(), PointwiseMode())
}
"""Every mode a judge judges in, by name: the built-in ones, then those of installed packages
(:data:`ENTRY_POINT_GROUP`, loaded on first use)."""

AUTO = "auto"
"""The mode name that stands for a built-in mode chosen by what the judge can do."""

ENTRY_POINT_GROUP = "rlaif.judge_modes"
"""The entry-point group through which an installed package adds judge modes: each entry names
a :class:`JudgeMode` subclass or instance, registered under its ``name``."""

_plugins_loaded = False


def _load_plugins() -> None:
    """Register the modes of installed packages, once; a built-in name cannot be replaced."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        mode = loaded() if isinstance(loaded, type) else loaded
        if not isinstance(mode, JudgeMode):
            raise ConfigError(
                f"entry point {entry.name!r} ({entry.value}) in {ENTRY_POINT_GROUP} is not a "
                "JudgeMode"
            )
        if mode.name in (*JUDGE_MODES, AUTO):
            raise ConfigError(
                f"entry point {entry.name!r} ({entry.value}) names judge mode {mode.name!r}, "
                "which is taken"
            )
        JUDGE_MODES[mode.name] = mode


def mode_names() -> tuple[str, ...]:
    """Every mode name a judge accepts: ``auto``, then each mode of :data:`JUDGE_MODES`."""
    _load_plugins()
    return (AUTO, *JUDGE_MODES)


def judge_mode(name: str | JudgeMode) -> JudgeMode:
    """The mode named ``name`` (``auto`` is resolved by the judge, :func:`auto_choice`)."""
    if isinstance(name, JudgeMode):
        return name
    _load_plugins()
    try:
        return JUDGE_MODES[name]
    except KeyError:
        choices = ", ".join(mode_names())
        raise ConfigError(f"unknown judge mode {name!r}; modes: {choices}") from None


def _known(name: str) -> str:
    if name not in mode_names():
        raise ValueError(f"unknown judge mode {name!r}; modes: {', '.join(mode_names())}")
    return name


Mode = Annotated[str, AfterValidator(_known)]
"""A judge mode as config files and the command line name it: ``auto`` (chosen by what the
judge can do, :func:`auto_choice`) or a name in :data:`JUDGE_MODES`, checked against the
registry when a settings model is validated."""


def position_free(mode: str) -> bool:
    """Whether judgments recorded in ``mode`` (a :attr:`Judgment.mode`) have no presentation
    order, so that swapping the responses cannot change them (an installed package's mode
    included)."""
    _load_plugins()
    known = JUDGE_MODES.get(mode)
    return known is not None and not known.ordered


def auto_choice(
    model: Model, constitution: Constitution
) -> tuple[Literal["pointwise", "logprob", "generate"], str]:
    """The mode ``auto`` stands for, and why, by what the judge can do: a judge that cannot
    score choices generates its verdict (``generate``); an API judge or OpenAI-compatible
    server that can judges pairwise under the sampled principles in both orders (``logprob``,
    as CAI does); a judge that runs on this machine (the embedded model) gets the constitution's
    ``judge.auto_mode`` (``pointwise`` by default, where the constitution has a ``score``
    template), the mode measured best for it (docs/judge.md)."""
    if not model.supports_choice_logprobs:
        return "generate", "returns no log-probabilities"
    if not model.runs_locally:
        return "logprob", "API judge that returns log-probabilities"
    if constitution.judge.auto_mode == "pointwise" and constitution.templates.score is not None:
        return "pointwise", "local judge, the constitution's auto_mode"
    return "logprob", "local judge, the constitution's auto_mode"


@dataclass(frozen=True)
class ModeChoice:
    """The mode a judge judges in, and why."""

    mode: JudgeMode
    reason: str
    """``chosen``, or ``auto: <what auto went by>``."""
    automatic: bool
    """Chosen by ``auto``: a judge that turns out to return no log-probabilities falls back to
    ``generate``, as ``auto`` would have chosen had it known."""


def choose_mode(mode: str | JudgeMode, model: Model, constitution: Constitution) -> ModeChoice:
    """The mode a judge of ``model`` under ``constitution`` judges in for ``mode`` (a name,
    ``auto`` or a :class:`JudgeMode`); a :class:`ConfigError` when it cannot judge in it."""
    if mode == AUTO:
        name, why = auto_choice(model, constitution)
        choice = ModeChoice(judge_mode(name), f"auto: {why}", automatic=True)
    else:
        choice = ModeChoice(judge_mode(mode), "chosen", automatic=False)
    choice.mode.require(model, constitution)
    return choice

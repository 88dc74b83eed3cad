"""The agreement gate: refuse a judge's labels unless its measured agreement with humans (and
position consistency) reach the required levels.

A labelling job given a gate (``LabelOptions.gate``, ``rlaif label --agreement ...
--min-agreement ...``, a pipeline's ``stages.label.gate``) checks it before it makes any call, for
the mode its judge labels in; :func:`check_agreement_gate` (or :meth:`AgreementGate.check`) reads
an agreement ``metrics.json`` (or its run folder, or the metrics of a run made in-process). It
reads what ``rlaif eval agreement`` wrote, as data, so the label job below the evaluations can
apply it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import BaseModel, ConfigDict, Field

from rlaif.data import is_human_labels_file
from rlaif.data.estimate import Estimate
from rlaif.errors import RlaifError


class AgreementGateError(RlaifError):
    """A judge failed the agreement gate, or the gate could not find its measurement."""


class AgreementGate(BaseModel):
    """Gate settings as they appear in a pipeline or labelling config."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    metrics: str
    """Agreement ``metrics.json`` written by ``rlaif eval agreement`` (or its folder)."""
    min_agreement: float | None = Field(default=None, ge=0.0, le=1.0)
    """Least human agreement (fraction of answered pairs, ties half) the judge must reach."""
    min_consistency: float | None = Field(default=None, ge=0.0, le=1.0)
    """Least position consistency (both presentation orders agree) the judge must reach."""
    mode: str | None = None
    """Which measured mode of the judge to use when several were measured."""
    use_lower_bound: bool = False
    """Compare the lower end of the 95% interval instead of the point estimate (stricter)."""

    def check(self, judge: str) -> GateResult:
        """Check ``judge`` against this gate; raises :class:`AgreementGateError` on failure."""
        return check_agreement_gate(
            judge,
            self.metrics,
            min_agreement=self.min_agreement,
            min_consistency=self.min_consistency,
            mode=self.mode,
            use_lower_bound=self.use_lower_bound,
        )


@dataclass
class GateResult:
    """The outcome of a passed gate (a failed one raises)."""

    judge: str
    row: str
    """Leaderboard row used (judge name and mode)."""
    agreement: Estimate
    consistency: Estimate | None
    source: str
    n_pairs: int
    human_agreement: Estimate | None = None
    """The annotators' own agreement (each against the others' majority) when the metrics were
    measured on a labels file: the ceiling beside the judge's agreement."""

    def summary(self) -> str:
        """One line for logs and manifests."""
        consistency = self.consistency.format(percent=True) if self.consistency else "n/a"
        return (
            f"agreement gate passed for {self.row}: agreement "
            f"{self.agreement.format(percent=True)}{_ceiling(self.human_agreement)}, "
            f"consistency {consistency} on {self.n_pairs} pairs ({self.source})"
        )


def _ceiling(human: Estimate | None) -> str:
    if human is None:
        return ""
    return f" (human–human {human.format(percent=True)})"


def human_ceiling(metrics: Mapping[str, Any]) -> Estimate | None:
    """The human–human agreement of metrics measured on a labels file (``None`` otherwise)."""
    value = (metrics.get("human") or {}).get("agreement_with_majority")
    return Estimate(**value) if value else None


def load_agreement_metrics(source: str | Path | Mapping[str, Any] | Any) -> tuple[dict, str]:
    """Agreement metrics from a ``metrics.json`` path, its folder, a dictionary, an
    :class:`~rlaif.eval.agreement.results.AgreementMetrics`, or an object with such a ``metrics``
    attribute (an :class:`~rlaif.eval.agreement.run.AgreementRun`)."""
    run_metrics = getattr(source, "metrics", None)
    if _is_agreement(run_metrics):
        where = str(getattr(source, "out", None) or "agreement run")
        return run_metrics.model_dump(mode="json"), where
    if _is_agreement(source):
        return source.model_dump(mode="json"), "agreement metrics"
    if isinstance(source, Mapping):
        return dict(source), "agreement metrics"
    path = Path(source)
    if path.is_dir():
        path = path / "metrics.json"
    if not path.is_file():
        raise AgreementGateError(
            f"agreement gate: no agreement metrics at {path}; run `rlaif eval agreement --judge "
            "... --out DIR` first and point the gate at DIR/metrics.json"
        )
    if path.suffix == ".jsonl" and is_human_labels_file(path):
        raise AgreementGateError(
            f"agreement gate: {path} is a labels file, not agreement metrics; run `rlaif eval "
            f"agreement --judge ... --data {path} --pairs PAIRS --out DIR` and point the gate at "
            "DIR/metrics.json"
        )
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise AgreementGateError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(metrics, dict) or metrics.get("kind") != "agreement":
        raise AgreementGateError(f"{path} is not an agreement metrics file (kind 'agreement')")
    return metrics, str(path)


def _is_agreement(value: Any) -> TypeGuard[BaseModel]:
    """Whether ``value`` is agreement metrics held in memory (a pydantic model of kind
    ``agreement``, as :class:`~rlaif.eval.agreement.results.AgreementMetrics` is)."""
    return isinstance(value, BaseModel) and getattr(value, "kind", None) == "agreement"


def find_judge_row(metrics: Mapping[str, Any], judge: str, mode: str | None) -> str:
    """The result row measuring ``judge`` (a model name or a row name), optionally in ``mode``
    (the mode the row was asked for, or the one its ``auto`` resolved to, as its results
    record it): a row measured in another mode never stands in for it."""
    results = metrics.get("results", {})
    measured = metrics.get("settings", {}).get("judges", [])
    asked = {j.get("name"): j.get("mode") for j in measured}

    def in_mode(name: str) -> bool:
        return mode is None or mode in (asked.get(name), results[name].get("mode"))

    if judge in results and results[judge].get("kind") == "judge" and in_mode(judge):
        return judge
    candidates = [
        j["name"]
        for j in measured
        if j.get("model") == judge and j["name"] in results and in_mode(j["name"])
    ]
    if len(candidates) == 1:
        return candidates[0]
    known = ", ".join(
        f"{name} ({results[name]['mode']})"
        if name in results and results[name].get("mode") and results[name]["mode"] not in name
        else name
        for name in metrics.get("judges", [])
    )
    if not candidates:
        wanted = f"{judge}" + (f" in mode {mode}" if mode else "")
        again = f" --mode {mode}" if mode else ""
        raise AgreementGateError(
            f"agreement gate: {wanted} was not measured in these metrics (measured: "
            f"{known or 'none'}); run `rlaif eval agreement --judge {judge}{again}` first"
        )
    raise AgreementGateError(
        f"agreement gate: {judge} was measured in several modes ({', '.join(candidates)}); "
        "say which with the gate's mode"
    )


def check_agreement_gate(
    judge: str,
    source: str | Path | Mapping[str, Any] | Any,
    *,
    min_agreement: float | None = None,
    min_consistency: float | None = None,
    mode: str | None = None,
    use_lower_bound: bool = False,
) -> GateResult:
    """Raise :class:`AgreementGateError` naming the judge, the measured value and the threshold
    when ``judge`` falls short of ``min_agreement`` or ``min_consistency``; return the measured
    values when it passes."""
    for name, threshold in (("min_agreement", min_agreement), ("min_consistency", min_consistency)):
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise AgreementGateError(f"{name} must be between 0 and 1, got {threshold}")
    metrics, where = load_agreement_metrics(source)
    row_name = find_judge_row(metrics, judge, mode)
    row = metrics["results"][row_name]
    agreement = Estimate(**row["accuracy"])
    consistency = Estimate(**row["consistency"]) if row.get("consistency") else None
    n_pairs = int(row.get("n_pairs", metrics.get("n_pairs", 0)))
    human = human_ceiling(metrics)
    failures = []
    basis = "lower 95% bound of " if use_lower_bound else ""
    checks = (
        ("human agreement", agreement, min_agreement, "min_agreement"),
        ("position consistency", consistency, min_consistency, "min_consistency"),
    )
    for label, estimate, threshold, option in checks:
        if threshold is None:
            continue
        measured = None
        if estimate is not None:
            measured = estimate.low if use_lower_bound else estimate.value
        if measured is None:
            failures.append(
                f"{label} was not measured (a one-order run, or no verdicts), "
                f"so {option} {threshold:g} cannot be met"
            )
        elif measured < threshold:
            shown = estimate.format(percent=True) if estimate is not None else "n/a"
            failures.append(
                f"{basis}{label} {measured:.3f} ({shown}) is below {option} {threshold:g}"
            )
    if failures:
        ceiling = f" (the annotators agree {human.format(percent=True)})" if human else ""
        raise AgreementGateError(
            f"judge {row_name} failed the agreement gate on {n_pairs} human-labelled pairs "
            f"({where}){ceiling}: " + "; ".join(failures) + ". Its labels are not used; measure "
            "a better judge or lower the threshold knowingly."
        )
    return GateResult(judge, row_name, agreement, consistency, where, n_pairs, human)

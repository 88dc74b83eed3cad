"""The run's summary table: what the loop achieved, read from the typed measurements of the
eval stage (:mod:`rlaif.pipeline.eval_stage`) and of the reward-model and label stages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlaif.eval.agreement import AgreementMetrics
from rlaif.eval.bootstrap import Estimate
from rlaif.eval.policy import LEXICAL_RULE, PolicyMetrics, reading
from rlaif.train.scoring import PairwiseAccuracy, RewardAccuracy

SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"


def _estimate(estimate: Estimate | None) -> dict[str, Any] | None:
    """An ``{value, low, high, n}`` summary entry, or ``None``."""
    return None if estimate is None else estimate.model_dump(mode="json")


def policy_rows(metrics: PolicyMetrics, before: str, after: str) -> dict[str, Any]:
    """Refusal rates before and after training, by both detectors, with the paired change and
    its reading, and the win rates of the trained policy over the initial one per prompt group;
    each row names the evaluator that produced it."""
    rows: dict[str, Any] = {}
    changes = {
        (c.group, c.evaluator == LEXICAL_RULE): c
        for c in metrics.changes
        if c.model == after and c.versus == before
    }
    for label, group in (("refusal_red_team", "red-team"), ("over_refusal_benign", "benign")):
        rates = {model: metrics.refusal.get(model, {}).get(group) for model in (before, after)}
        for detector in ("lexical", "judge"):
            row: dict[str, Any] = {
                side: _estimate(None if r is None else getattr(r, detector))
                for side, r in (("before", rates[before]), ("after", rates[after]))
            }
            row["evaluator"] = LEXICAL_RULE if detector == "lexical" else metrics.judge
            change = changes.get((group, detector == "lexical"))
            if change is not None:
                row["change"] = _estimate(change.difference)
                row["reading"] = change.reading
            rows[f"{label}_{detector}"] = row
    for win in metrics.win_rates:
        if win.model == after and win.versus == before:
            rows[f"win_rate_{win.group}"] = {
                **(_estimate(win.win_rate) or {}),
                "evaluator": metrics.judge,
                "constitution": win.constitution,
                "reading": reading(win.win_rate, higher_is_better=True, no_change=0.5),
            }
    return rows


def agreement_rows(metrics: AgreementMetrics, judge: str) -> dict[str, Any]:
    """Agreement and position consistency of the judge (``judge``) and of each baseline."""
    rows: dict[str, Any] = {"n_pairs": metrics.n_pairs}
    for name, row in metrics.results.items():
        rows["judge" if name == judge else name] = {
            "accuracy": _estimate(row.accuracy),
            "consistency": _estimate(row.consistency),
        }
    return rows


def accuracy_estimate(row: PairwiseAccuracy | None) -> dict[str, Any] | None:
    """Pairwise accuracy over ``n`` pairs with a 95% Wilson interval (ties count half)."""
    if row is None or row.accuracy is None:
        return None
    if row.n <= 0:
        return {"value": row.accuracy, "low": None, "high": None, "n": None}
    from scipy.stats import binomtest  # heavy: loaded only when a summary is written

    interval = binomtest(round(row.accuracy * row.n), row.n).proportion_ci(method="wilson")
    return {"value": row.accuracy, "low": interval.low, "high": interval.high, "n": row.n}


def reward_model_rows(rm_metrics: dict[str, Any]) -> dict[str, Any]:
    """Reward-model accuracy on held-out AI labels and on human labels, from the rm stage's
    metrics."""
    accuracy = RewardAccuracy.model_validate(rm_metrics.get("accuracy") or {})
    return {
        "ai_heldout": accuracy_estimate(accuracy.ai_heldout),
        "human": accuracy_estimate(accuracy.human),
    }


def label_rows(label_metrics: dict[str, Any]) -> dict[str, Any]:
    """Pair counts, order consistency and confirmation rate per labelling strategy."""
    return {
        strategy: {
            "counts": row.get("counts"),
            "consistency_rate": row.get("consistency_rate"),
            "confirmation_rate": row.get("confirmation_rate"),
        }
        for strategy, row in label_metrics.items()
        if isinstance(row, dict) and "counts" in row
    }


def revision_rows(critique_metrics: dict[str, Any]) -> dict[str, Any]:
    """How the supervised stage's critique-and-revise came out, per prompt set (``revise`` only):
    records whose target differs from the policy's answer, and revisions that copied a worked
    example."""
    parts = critique_metrics if "counts" not in critique_metrics else {"train": critique_metrics}
    return {
        part: row["revisions"]
        for part, row in parts.items()
        if isinstance(row, dict) and isinstance(row.get("revisions"), dict)
    }


def _fmt(estimate: dict[str, Any] | None, percent: bool = True) -> str:
    if not estimate or estimate.get("value") is None:
        return "n/a"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    text = f"{estimate['value'] * scale:.1f}{unit}"
    if estimate.get("low") is not None and estimate.get("high") is not None:
        text += f" [{estimate['low'] * scale:.1f}, {estimate['high'] * scale:.1f}]"
    if estimate.get("n"):
        text += f" (n={estimate['n']})"
    return text


def _points(estimate: dict[str, Any] | None) -> str:
    """A change of a rate in percentage points, signed, with its interval."""
    if not estimate or estimate.get("value") is None:
        return "n/a"
    text = f"{estimate['value'] * 100:+.1f} pts"
    if estimate.get("low") is not None and estimate.get("high") is not None:
        text += f" [{estimate['low'] * 100:+.1f}, {estimate['high'] * 100:+.1f}]"
    return text


def _constitution_label(constitution: Any) -> str:
    """``; <name> judged`` for a win-rate row: which constitution's question the judge answered
    (``helpful`` asks which reply helps more, ``cai-harmless`` which is more harmless)."""
    if not constitution:
        return ""
    name = Path(str(constitution)).stem if str(constitution).endswith(".yaml") else constitution
    return f", judged on `{name}`"


def _model_label(name: Any) -> str:
    """A model name for people: a local checkpoint relative to the working directory."""
    text = str(name)
    provider, _, rest = text.partition("/")
    if provider == "hf" and rest.startswith("/"):
        path = Path(rest)
        try:
            return f"hf/{path.relative_to(Path.cwd())}"
        except ValueError:
            return text
    return text


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table (95% bootstrap intervals in brackets)."""
    lines = [
        f"# Run `{summary.get('run')}`",
        "",
        f"Policy before: `{_model_label(summary.get('policy_before'))}`; "
        f"after: `{_model_label(summary.get('policy_after'))}`.",
        "Rates in percent with 95% bootstrap intervals (reward-model accuracy: Wilson); the "
        "change is after minus before on the same prompts, in points, with a paired bootstrap "
        "interval, and its reading says whether that interval excludes no change.",
        "",
        "| measure | evaluated by | before | after | change (paired) | reading |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    names = {
        "refusal_red_team_lexical": "refusal on red-team test prompts",
        "refusal_red_team_judge": "refusal on red-team test prompts",
        "over_refusal_benign_lexical": "over-refusal on benign prompts",
        "over_refusal_benign_judge": "over-refusal on benign prompts",
    }
    policy = summary.get("policy", {})
    for key, label in names.items():
        row = policy.get(key)
        if row:
            lines.append(
                f"| {label} | {_model_label(row.get('evaluator', ''))} | {_fmt(row['before'])} | "
                f"{_fmt(row['after'])} | {_points(row.get('change'))} | "
                f"{row.get('reading', 'n/a')} |"
            )
    for group in ("red-team", "benign"):
        row = policy.get(f"win_rate_{group}")
        if row:
            under = _constitution_label(row.get("constitution"))
            lines.append(
                f"| win rate of after over before ({group}{under}) | "
                f"{_model_label(row.get('evaluator', ''))} | 50% by definition | {_fmt(row)} | "
                f"| {row.get('reading', 'n/a')} |"
            )
    lines += ["", "| measure | value |", "| --- | --- |"]
    rm = summary.get("reward_model") or {}
    if rm:
        lines.append(
            f"| reward-model accuracy, held-out AI labels | {_fmt(rm.get('ai_heldout'))} |"
        )
        lines.append(f"| reward-model accuracy, human labels | {_fmt(rm.get('human'))} |")
    agreement = summary.get("agreement") or {}
    for name, row in agreement.items():
        if not isinstance(row, dict):
            continue
        label = "judge agreement with humans" if name == "judge" else f"baseline: {name}"
        lines.append(f"| {label} | {_fmt(row.get('accuracy'))} |")
    for part, row in (summary.get("revisions") or {}).items():
        lines.append(
            f"| revisions (`{part}` prompts) | {row.get('revised', 0)} of {row.get('records', 0)} "
            f"targets differ from the policy's answer; {row.get('rounds_copied_example', 0)} "
            f"revisions copied a worked example and were not used |"
        )
    for strategy, row in (summary.get("labels") or {}).items():
        counts = row.get("counts") or {}
        consistency = row.get("consistency_rate")
        shown = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        extra = f"; both orders agreed on {consistency:.0%}" if consistency is not None else ""
        confirmation = row.get("confirmation_rate")
        if confirmation is not None:
            extra += f"; judge prefers the constructed better response on {confirmation:.0%}"
        lines.append(f"| `{strategy}` pairs | {shown}{extra} |")
    for note in summary.get("notes", []):
        lines.append(f"\nNote: {note}")
    return "\n".join(lines)


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """The summary of a finished run, if its eval stage completed."""
    path = run_dir / "eval" / SUMMARY_JSON
    return json.loads(path.read_text()) if path.is_file() else None

"""The eval stage and the run's summary table: what the loop achieved, read from measurements."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from rlaif.pipeline.context import StageContext, StageResult

SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"


def _estimate(value: Any) -> dict[str, Any] | None:
    """An ``{value, low, high, n}`` estimate from a metrics entry, or ``None``."""
    if isinstance(value, dict) and "value" in value:
        return {k: value.get(k) for k in ("value", "low", "high", "n")}
    if isinstance(value, int | float):
        return {"value": float(value), "low": None, "high": None, "n": None}
    return None


def _policy_rows(metrics: dict[str, Any], before: str, after: str) -> dict[str, Any]:
    refusal = metrics.get("refusal", {})
    rows: dict[str, Any] = {}
    for label, group in (("refusal_red_team", "red-team"), ("over_refusal_benign", "benign")):
        for detector in ("lexical", "judge"):
            rows[f"{label}_{detector}"] = {
                "before": _estimate(refusal.get(before, {}).get(group, {}).get(detector)),
                "after": _estimate(refusal.get(after, {}).get(group, {}).get(detector)),
            }
    for row in metrics.get("win_rates", []):
        if row.get("model") == after and row.get("versus") == before:
            rows[f"win_rate_{row['group']}"] = _estimate(row.get("win_rate"))
    return rows


def _agreement_rows(metrics: dict[str, Any], judge: str) -> dict[str, Any]:
    results = metrics.get("results", {})
    rows: dict[str, Any] = {"n_pairs": metrics.get("n_pairs")}
    for name, row in results.items():
        key = "judge" if name == judge else name
        rows[key] = {
            "accuracy": _estimate(row.get("accuracy")),
            "consistency": _estimate(row.get("consistency")),
        }
    return rows


def _accuracy_estimate(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """Pairwise accuracy over ``n`` pairs with a 95% Wilson interval (ties count half)."""
    if not row or row.get("accuracy") is None:
        return None
    accuracy, n = float(row["accuracy"]), int(row.get("n") or 0)
    if n <= 0:
        return _estimate(accuracy)
    from scipy.stats import binomtest

    interval = binomtest(round(accuracy * n), n).proportion_ci(method="wilson")
    return {"value": accuracy, "low": interval.low, "high": interval.high, "n": n}


def _rm_rows(ctx: StageContext) -> dict[str, Any]:
    if not ctx.has_output("rm", "model"):
        return {}
    accuracy = ctx.upstream("rm").metrics.get("accuracy", {})
    return {
        "ai_heldout": _accuracy_estimate(accuracy.get("ai_heldout")),
        "human": _accuracy_estimate(accuracy.get("human")),
    }


def _label_rows(ctx: StageContext) -> dict[str, Any]:
    if not ctx.has_output("label", "preferences"):
        return {}
    metrics = ctx.upstream("label").metrics
    return {
        strategy: {
            "counts": row.get("counts"),
            "consistency_rate": row.get("consistency_rate"),
            "confirmation_rate": row.get("confirmation_rate"),
        }
        for strategy, row in metrics.items()
        if isinstance(row, dict) and "counts" in row
    }


def evaluate_run(ctx: StageContext) -> StageResult:
    """Evaluate the trained policy against the initial one and the judge against humans, then
    write ``summary.json`` and ``summary.md``."""
    from rlaif.eval import AgreementSettings, JudgeSpec, PolicyEvalSettings, run_agreement
    from rlaif.eval.policy_eval import run_policy_eval
    from rlaif.pipeline.stages import current_policy, initial_policy

    config, settings = ctx.config, ctx.config.stages.eval
    initial = initial_policy(config)
    trained = current_policy(ctx, after=("sft", "policy"))
    judge = config.models.judge
    constitution = str(ctx.resolve_constitution())
    notes: list[str] = []
    summary: dict[str, Any] = {"run": config.name, "policy_before": initial.name}
    summary["policy_after"] = trained.name
    outputs: dict[str, str] = {"summary": SUMMARY_JSON, "summary_md": SUMMARY_MD}
    if trained.name == initial.name:
        notes.append("no trained policy in this run: before and after are the same model")
    else:
        policy_settings = PolicyEvalSettings(
            prompts=[
                str(ctx.input_path(config.prompts.test)),
                str(ctx.input_path(config.prompts.benign)),
            ],
            judge=judge.name,
            constitution=constitution,
            max_tokens=settings.generation.max_tokens,
            temperature=settings.generation.temperature,
            limit=settings.prompt_limit,
            seed=config.seed,
            principles_per_pair=config.principles_per_pair,
            reward_model=(
                str(ctx.upstream_output("rm", "model")) if ctx.has_output("rm", "model") else None
            ),
        )
        policy_metrics = asyncio.run(
            run_policy_eval(
                [trained.name],
                initial.name,
                policy_settings,
                ctx.stage_dir / "policy",
                models={
                    trained.name: ctx.models.get(trained),
                    initial.name: ctx.models.get(initial),
                    judge.name: ctx.models.get(judge),
                },
            )
        )
        summary["policy"] = _policy_rows(policy_metrics, initial.name, trained.name)
        outputs["policy_report"] = "policy/report.html"
    human = ctx.optional_input(settings.human_data)
    if human is None:
        notes.append(f"human-labelled data {settings.human_data!r} not found: agreement skipped")
    else:
        run = run_agreement(
            [
                JudgeSpec(
                    model=judge.name,
                    mode=config.stages.label.mode,
                    label=judge.name,
                    constitution=constitution,
                    seed=config.seed,
                    principles_per_pair=config.principles_per_pair,
                )
            ],
            AgreementSettings(data=str(human), limit=settings.human_limit, seed=config.seed),
            out=ctx.stage_dir / "agreement",
            models={judge.name: ctx.models.get(judge)},
        )
        summary["agreement"] = _agreement_rows(run.metrics, judge.name)
        outputs["agreement_report"] = "agreement/report.html"
    summary["reward_model"] = _rm_rows(ctx)
    summary["labels"] = _label_rows(ctx)
    summary["notes"] = notes
    (ctx.stage_dir / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    (ctx.stage_dir / SUMMARY_MD).write_text(format_summary(summary) + "\n")
    return StageResult(outputs=outputs, metrics=summary, notes=notes)


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
        "Rates in percent with 95% bootstrap intervals (reward-model accuracy: Wilson).",
        "",
        "| measure | before | after |",
        "| --- | --- | --- |",
    ]
    names = {
        "refusal_red_team_lexical": "refusal on red-team test prompts (lexical rule)",
        "refusal_red_team_judge": "refusal on red-team test prompts (judge)",
        "over_refusal_benign_lexical": "over-refusal on benign prompts (lexical rule)",
        "over_refusal_benign_judge": "over-refusal on benign prompts (judge)",
    }
    policy = summary.get("policy", {})
    for key, label in names.items():
        row = policy.get(key)
        if row:
            lines.append(f"| {label} | {_fmt(row['before'])} | {_fmt(row['after'])} |")
    for group in ("red-team", "benign"):
        if f"win_rate_{group}" in policy:
            lines.append(
                f"| win rate of after over before ({group}, judge) | 50% by definition | "
                f"{_fmt(policy[f'win_rate_{group}'])} |"
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

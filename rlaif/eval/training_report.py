"""Training curves from a TRL run folder (``rlaif report RUN_DIR``).

TRL trainers log to ``trainer_state.json`` (``log_history``: one dict per logging step). PPO logs
``objective/kl``, ``objective/scores``, ``objective/rlhf_reward``, ``objective/entropy``, policy
and value losses, clip fractions and the probability ratio; SFT, reward and DPO runs log
``loss``, ``eval_*`` and ``rewards/*``. Every numeric key is plotted, PPO's objectives first.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rlaif.errors import RlaifError
from rlaif.eval import plots
from rlaif.eval.report import Heading, Image, Paragraph, Report, Table

PPO_KEYS = (
    "objective/rlhf_reward",
    "objective/scores",
    "objective/kl",
    "objective/non_score_reward",
    "objective/entropy",
    "policy/approxkl_avg",
    "policy/clipfrac_avg",
    "loss/policy_avg",
    "loss/value_avg",
    "val/clipfrac_avg",
    "val/ratio",
    "val/num_eos_tokens",
)
"""PPO quantities, in the order they are plotted."""
SKIPPED_KEYS = {
    "epoch",
    "step",
    "episode",
    "total_flos",
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "eval_runtime",
    "eval_samples_per_second",
    "eval_steps_per_second",
    "eps",
}
MAX_POINTS = 500
"""Points kept per curve (evenly spaced, last point always kept) to bound ``metrics.json``."""


def find_trainer_state(run_dir: Path) -> Path:
    """``trainer_state.json`` of the run: at the top, else in the latest ``checkpoint-N``."""
    top = run_dir / "trainer_state.json"
    if top.is_file():
        return top
    candidates = sorted(
        run_dir.rglob("trainer_state.json"), key=lambda p: _checkpoint_number(p.parent)
    )
    if not candidates:
        raise RlaifError(
            f"{run_dir}: no trainer_state.json (a TRL training run folder has one at its top or "
            "in checkpoint-N/) and no evaluation metrics.json"
        )
    return candidates[-1]


def _checkpoint_number(folder: Path) -> int:
    suffix = folder.name.rpartition("-")[2]
    return int(suffix) if suffix.isdigit() else -1


def extract_curves(log_history: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """``{key: {"step": [...], "value": [...]}}`` for every numeric key of the log."""
    curves: dict[str, dict[str, list[float]]] = {}
    for index, entry in enumerate(log_history):
        step = entry.get("step", index)
        for key, value in entry.items():
            if key in SKIPPED_KEYS or isinstance(value, bool):
                continue
            if isinstance(value, int | float) and math.isfinite(value):
                curve = curves.setdefault(key, {"step": [], "value": []})
                curve["step"].append(float(step))
                curve["value"].append(float(value))
    ordered = [k for k in PPO_KEYS if k in curves] + sorted(k for k in curves if k not in PPO_KEYS)
    return {k: _thin(curves[k]) for k in ordered}


def _thin(curve: dict[str, list[float]]) -> dict[str, list[float]]:
    n = len(curve["step"])
    if n <= MAX_POINTS:
        return curve
    keep = np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(int))
    return {k: [v[i] for i in keep] for k, v in curve.items()}


def training_metrics(run_dir: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of a training report: curves, summaries, and the run's own
    ``metrics.json`` when it has one."""
    run_dir = Path(run_dir)
    state_path = find_trainer_state(run_dir)
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RlaifError(f"{state_path}:{error.lineno}: not valid JSON ({error.msg})") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list) or not history:
        raise RlaifError(f"{state_path}: no log_history entries to plot")
    curves = extract_curves(history)
    own = run_dir / "metrics.json"
    run_metrics = None
    if own.is_file():
        try:
            run_metrics = json.loads(own.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            run_metrics = {"error": f"{own} is not valid JSON"}
    return {
        "kind": "training",
        "run_dir": str(run_dir),
        "trainer_state": str(state_path),
        "algorithm": "ppo" if "objective/kl" in curves else "other",
        "global_step": state.get("global_step"),
        "log_entries": len(history),
        "summary": {
            key: {
                "first": c["value"][0],
                "last": c["value"][-1],
                "min": min(c["value"]),
                "max": max(c["value"]),
                "points": len(c["value"]),
            }
            for key, c in curves.items()
        },
        "curves": curves,
        "run_metrics": run_metrics,
    }


def training_report(metrics: dict[str, Any]) -> Report:
    """Curves and their first/last values."""
    report = Report(f"Training run: {metrics['run_dir']}")
    curves = metrics["curves"]
    ppo = [k for k in PPO_KEYS if k in curves]
    report.add(
        Paragraph(
            f"{metrics['log_entries']} logged steps from {metrics['trainer_state']} (global step "
            f"{metrics['global_step']})."
        )
    )
    report.add(
        Heading("Summary"),
        Table(
            ["Quantity", "First", "Last", "Min", "Max"],
            [
                [k, *(f"{s[f]:.4g}" for f in ("first", "last", "min", "max"))]
                for k, s in metrics["summary"].items()
            ],
        ),
    )
    if ppo:
        report.add(
            Image(
                "ppo_curves.png",
                plots.training_curves(
                    {k: curves[k] for k in ppo}, title="PPO: reward, KL and losses"
                ),
                "objective/scores is the reward model's score, objective/rlhf_reward that score "
                "minus the KL penalty; objective/kl should stay within the KL budget.",
            )
        )
    others = [k for k in curves if k not in ppo]
    if others:
        report.add(
            Image(
                "training_curves.png",
                plots.training_curves({k: curves[k] for k in others}, title="Logged quantities"),
                "Other logged values.",
            )
        )
    if metrics.get("run_metrics"):
        report.add(
            Heading("Run metrics.json"),
            Table(
                ["Key", "Value"],
                [[k, json.dumps(v)[:200]] for k, v in metrics["run_metrics"].items()]
                if isinstance(metrics["run_metrics"], dict)
                else [],
            ),
        )
    return report

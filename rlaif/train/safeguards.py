"""Safeguards that stop RL training when the policy drifts too far: a KL budget against the
reference model and a band for the mean probability ratio of the PPO update.

:class:`Safeguard` is an ordinary ``transformers.TrainerCallback``: it reads the metrics the
trainer logs and sets ``control.should_training_stop``, recording why. The ``Trainer``-based TRL
trainers (GRPO, RLOO) and rlaif's own PPO loop (:mod:`rlaif.train.ppo_trainer`) honour that flag
at the end of the step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from transformers import TrainerCallback


@dataclass
class StopReason:
    """Why a safeguard stopped training."""

    step: int
    """Optimizer step at which the limit was exceeded."""
    metric: str
    """Logged metric that crossed its limit."""
    value: float
    """Its value at that step."""
    limit: str
    """The limit, in words (``<= 0.5`` or ``in [0.8, 1.25]``)."""
    message: str
    """One-sentence explanation for logs and metrics.json."""

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping for metrics.json."""
        return asdict(self)


class Safeguard(TrainerCallback):
    """Stop training once ``kl_key`` exceeds ``kl_budget`` or ``ratio_key`` leaves
    ``ratio_band``, for ``patience`` logged steps in a row."""

    def __init__(
        self,
        *,
        kl_key: str,
        kl_budget: float | None,
        ratio_key: str | None = None,
        ratio_band: tuple[float, float] | None = None,
        patience: int = 1,
    ) -> None:
        self.kl_key = kl_key
        self.kl_budget = kl_budget
        self.ratio_key = ratio_key
        self.ratio_band = ratio_band
        self.patience = max(1, patience)
        self.reason: StopReason | None = None
        self._strikes = {"kl": 0, "ratio": 0}

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if self.reason is not None or not logs:
            return
        violation = self._check_kl(logs, state.global_step) or self._check_ratio(
            logs, state.global_step
        )
        if violation is not None:
            self.reason = violation
            control.should_training_stop = True

    def _check_kl(self, logs: dict[str, Any], step: int) -> StopReason | None:
        value = logs.get(self.kl_key)
        if self.kl_budget is None or not isinstance(value, (int, float)):
            return None
        over = not math.isfinite(value) or value > self.kl_budget
        message = (
            f"stopped at step {step}: KL to the reference policy {self.kl_key}={value:.4g} "
            f"exceeded the budget {self.kl_budget}"
        )
        return self._strike("kl", over, step, self.kl_key, value, f"<= {self.kl_budget}", message)

    def _check_ratio(self, logs: dict[str, Any], step: int) -> StopReason | None:
        if self.ratio_key is None or self.ratio_band is None:
            return None
        value = logs.get(self.ratio_key)
        if not isinstance(value, (int, float)):
            return None
        low, high = self.ratio_band
        outside = not math.isfinite(value) or not low <= value <= high
        message = (
            f"stopped at step {step}: mean probability ratio {self.ratio_key}={value:.4g} "
            f"left the band [{low}, {high}]"
        )
        return self._strike(
            "ratio", outside, step, self.ratio_key, value, f"in [{low}, {high}]", message
        )

    def _strike(
        self,
        kind: str,
        breached: bool,
        step: int,
        metric: str,
        value: float,
        limit: str,
        message: str,
    ) -> StopReason | None:
        """Count one more consecutive breach of ``kind`` (or reset the count) and return the
        reason to stop once ``patience`` breaches in a row are reached."""
        self._strikes[kind] = self._strikes[kind] + 1 if breached else 0
        if self._strikes[kind] < self.patience:
            return None
        return StopReason(
            step=step, metric=metric, value=float(value), limit=limit, message=message
        )

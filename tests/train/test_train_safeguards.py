"""The KL-budget / ratio-band callback and the stop-aware handler, without training."""

from __future__ import annotations

import math

from transformers import TrainerControl, TrainerState

from rlaif.train.safeguards import Safeguard


def _log(guard: Safeguard, step: int, logs: dict[str, float]) -> TrainerControl:
    state, control = TrainerState(), TrainerControl()
    state.global_step = step
    guard.on_log(None, state, control, logs=logs)
    return control


def test_kl_budget_stops_with_reason() -> None:
    guard = Safeguard(kl_key="objective/kl", kl_budget=1.0)
    assert not _log(guard, 1, {"objective/kl": 0.5}).should_training_stop
    control = _log(guard, 2, {"objective/kl": 1.5})
    assert control.should_training_stop
    assert guard.reason is not None and guard.reason.step == 2
    assert "exceeded the budget 1.0" in guard.reason.message


def test_ratio_band_and_patience() -> None:
    guard = Safeguard(
        kl_key="objective/kl",
        kl_budget=None,
        ratio_key="val/ratio",
        ratio_band=(0.8, 1.25),
        patience=2,
    )
    assert not _log(guard, 1, {"val/ratio": 1.4}).should_training_stop
    assert not _log(guard, 2, {"val/ratio": 1.0}).should_training_stop
    assert not _log(guard, 3, {"val/ratio": 0.5}).should_training_stop
    assert _log(guard, 4, {"val/ratio": math.nan}).should_training_stop
    assert guard.reason is not None and guard.reason.metric == "val/ratio"

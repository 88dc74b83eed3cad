"""Training through TRL, one module per algorithm: each maps our config onto a TRL config and
trainer and writes a run folder (model, config, TRL logs, metrics.json).

>>> from rlaif.train import train_reward_model
>>> result = train_reward_model({"model": "runs/sft", "dataset": "prefs.jsonl",
...                              "output_dir": "runs/rm"})  # doctest: +SKIP
>>> result.metrics["accuracy"]["ai_heldout"]["accuracy"]  # doctest: +SKIP

Importing this package is cheap: torch, transformers and TRL load on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover  (typing only: train.runs imports transformers)
    from rlaif.train.config import TrainConfig
    from rlaif.train.runs import TrainResult

ALGORITHMS: dict[str, tuple[str, str, str]] = {
    "sft": ("rlaif.train.sft", "SFTTrainConfig", "train_sft"),
    "rm": ("rlaif.train.reward", "RewardTrainConfig", "train_reward_model"),
    "ppo": ("rlaif.train.ppo", "PPOTrainConfig", "train_ppo"),
    "dpo": ("rlaif.train.dpo", "DPOTrainConfig", "train_dpo"),
    "grpo": ("rlaif.train.grpo", "GRPOTrainConfig", "train_grpo"),
    "rloo": ("rlaif.train.rloo", "RLOOTrainConfig", "train_rloo"),
}
"""Algorithm name → (module, config class, training function)."""

_EXPORTS = {
    **{cls: (module, cls) for module, cls, _ in ALGORITHMS.values()},
    **{func: (module, func) for module, _, func in ALGORITHMS.values()},
    "TrainResult": ("rlaif.train.runs", "TrainResult"),
    "TrainConfig": ("rlaif.train.config", "TrainConfig"),
    "LoraSettings": ("rlaif.train.config", "LoraSettings"),
    "load_train_config": ("rlaif.train.config", "load_train_config"),
    "Safeguard": ("rlaif.train.safeguards", "Safeguard"),
}

__all__ = ["ALGORITHMS", "config_class", "run_training", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'rlaif.train' has no attribute {name!r}")


def config_class(algorithm: str) -> type[TrainConfig]:
    """The config class of ``algorithm`` (``sft``, ``rm``, ``ppo``, ``dpo``, ``grpo``, ``rloo``)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}")
    module, cls, _ = ALGORITHMS[algorithm]
    result: type[TrainConfig] = getattr(importlib.import_module(module), cls)
    return result


def run_training(
    algorithm: str, config: TrainConfig | dict[str, Any] | str | Path, **kwargs: Any
) -> TrainResult:
    """Train with ``algorithm`` from a config object, a mapping of its fields or a YAML path."""
    config_class(algorithm)
    module, _, function = ALGORITHMS[algorithm]
    result: TrainResult = getattr(importlib.import_module(module), function)(config, **kwargs)
    return result

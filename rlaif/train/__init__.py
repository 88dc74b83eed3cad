"""Training through TRL, one module per algorithm: each maps our config onto a TRL config and
trainer and writes a run folder (model, config, TRL logs, metrics.json).

>>> from rlaif.train import train_reward_model
>>> result = train_reward_model({"model": "runs/sft", "dataset": "prefs.jsonl",
...                              "output_dir": "runs/rm"})  # doctest: +SKIP
>>> result.metrics["accuracy"]["ai_heldout"]["accuracy"]  # doctest: +SKIP

Importing this package is cheap: torch, transformers and TRL load on first use.

Another package adds an algorithm through an entry point in the ``rlaif.trainers`` group
(:data:`ENTRY_POINT_GROUP`), named after the algorithm and pointing at a
:class:`TrainingAlgorithm`::

    [project.entry-points."rlaif.trainers"]
    kto = "mylab.kto:ALGORITHM"

after which ``run_training("kto", config)`` and ``rlaif train kto --config FILE`` run it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlaif.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover  (typing only: train.runs imports transformers)
    from rlaif.train.config import TrainConfig
    from rlaif.train.run_folder import TrainResult

ALGORITHMS: dict[str, tuple[str, str, str]] = {
    "sft": ("rlaif.train.sft", "SFTTrainConfig", "train_sft"),
    "rm": ("rlaif.train.reward", "RewardTrainConfig", "train_reward_model"),
    "ppo": ("rlaif.train.ppo", "PPOTrainConfig", "train_ppo"),
    "dpo": ("rlaif.train.dpo", "DPOTrainConfig", "train_dpo"),
    "grpo": ("rlaif.train.grpo", "GRPOTrainConfig", "train_grpo"),
    "rloo": ("rlaif.train.rloo", "RLOOTrainConfig", "train_rloo"),
}
"""Algorithm name → (module, config class, training function)."""

ENTRY_POINT_GROUP = "rlaif.trainers"
"""The entry-point group of training algorithms from installed packages: each entry point's name
is the algorithm, its value a :class:`TrainingAlgorithm`."""


@dataclass(frozen=True)
class TrainingAlgorithm:
    """A training algorithm an installed package adds (:data:`ENTRY_POINT_GROUP`): its config
    class (a :class:`~rlaif.train.config.TrainConfig` subclass, read from YAML and ``key=value``
    overrides like the built-in ones) and the function that trains from a validated config and
    returns a :class:`~rlaif.train.run_folder.TrainResult`."""

    config_class: type[TrainConfig]
    """The config the algorithm trains from."""
    train: Callable[[TrainConfig], TrainResult]
    """Trains from a config of :attr:`config_class`; extra keyword arguments of
    :func:`run_training` are passed on."""
    description: str = ""
    """One line for ``rlaif train --help``."""


_EXPORTS = {
    **{cls: (module, cls) for module, cls, _ in ALGORITHMS.values()},
    **{func: (module, func) for module, _, func in ALGORITHMS.values()},
    "TrainResult": ("rlaif.train.run_folder", "TrainResult"),
    "TrainConfig": ("rlaif.train.config", "TrainConfig"),
    "LoraSettings": ("rlaif.train.config", "LoraSettings"),
    "load_train_config": ("rlaif.train.config", "load_train_config"),
    "Safeguard": ("rlaif.train.safeguards", "Safeguard"),
}

__all__ = [
    "ALGORITHMS",
    "ENTRY_POINT_GROUP",
    "TrainingAlgorithm",
    "algorithm_names",
    "config_class",
    "installed_algorithms",
    "load_algorithm",
    "run_training",
    *sorted(_EXPORTS),
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'rlaif.train' has no attribute {name!r}")


def installed_algorithms() -> dict[str, EntryPoint]:
    """The entry points of installed packages' algorithms (:data:`ENTRY_POINT_GROUP`), by name;
    a built-in name cannot be taken over."""
    return {
        entry.name: entry
        for entry in entry_points(group=ENTRY_POINT_GROUP)
        if entry.name not in ALGORITHMS
    }


def algorithm_names() -> list[str]:
    """Every algorithm ``run_training`` takes: the built-in ones, then the installed ones."""
    return [*ALGORITHMS, *sorted(installed_algorithms())]


def installed_algorithm(name: str) -> TrainingAlgorithm:
    """The :class:`TrainingAlgorithm` an installed package registered as ``name``, loaded now;
    a :class:`ConfigError` names the algorithms there are, or what the entry point is instead."""
    entry = installed_algorithms().get(name)
    if entry is None:
        raise ConfigError(f"unknown algorithm {name!r}; choose from {', '.join(algorithm_names())}")
    return load_algorithm(entry)


def load_algorithm(entry: EntryPoint) -> TrainingAlgorithm:
    """The :class:`TrainingAlgorithm` an entry point of :data:`ENTRY_POINT_GROUP` names, loaded
    now; a :class:`ConfigError` says what the entry point is instead."""
    loaded = entry.load()
    if not isinstance(loaded, TrainingAlgorithm):
        raise ConfigError(
            f"entry point {entry.name!r} ({entry.value}) in {ENTRY_POINT_GROUP} is not a "
            "rlaif.train.TrainingAlgorithm"
        )
    return loaded


def config_class(algorithm: str) -> type[TrainConfig]:
    """The config class of ``algorithm`` (``sft``, ``rm``, ``ppo``, ``dpo``, ``grpo``, ``rloo``,
    or one an installed package adds)."""
    if algorithm not in ALGORITHMS:
        return installed_algorithm(algorithm).config_class
    module, cls, _ = ALGORITHMS[algorithm]
    result: type[TrainConfig] = getattr(importlib.import_module(module), cls)
    return result


def run_training(
    algorithm: str, config: TrainConfig | dict[str, Any] | str | Path, **kwargs: Any
) -> TrainResult:
    """Train with ``algorithm`` from a config object, a mapping of its fields or a YAML path."""
    if algorithm not in ALGORITHMS:
        from rlaif.train.config import coerce_config

        plugin = installed_algorithm(algorithm)
        return plugin.train(coerce_config(plugin.config_class, config), **kwargs)
    module, _, function = ALGORITHMS[algorithm]
    result: TrainResult = getattr(importlib.import_module(module), function)(config, **kwargs)
    return result

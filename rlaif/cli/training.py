"""``rlaif train sft|rm|ppo|dpo|grpo|rloo --config FILE [key=value ...]``: training through TRL,
and ``rlaif train NAME`` for an algorithm an installed package adds (``rlaif.trainers`` entry
points, see :mod:`rlaif.train`), looked up only when ``train`` is asked for.

Each command loads the YAML config, applies ``key=value`` overrides (dotted keys reach nested
fields: ``lora.r=8``, ``trl_args.warmup_steps=10``) and calls :func:`rlaif.train.run_training`.
The same commands run unchanged under ``accelerate launch -m rlaif train ...``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from rlaif.cli.common import echo, user_errors
from rlaif.config import load_yaml_mapping, parse_key_values
from rlaif.config.paths import check_input_file
from rlaif.eval.loaders import labelled_pairs_file
from rlaif.train import config_class, installed_algorithms, load_algorithm, run_training
from rlaif.train.config import load_train_config

CONFIG_OPTION = typer.Option(
    None, "--config", "-c", help="Training config (YAML); fields are listed in docs/training.md."
)
OVERRIDES_ARGUMENT = typer.Argument(
    None,
    help="Overrides as key=value (YAML values; dotted keys for nested fields).",
    metavar="KEY=VALUE",
)
DESCRIPTIONS = {
    "sft": "Supervised fine-tuning on critique-and-revise records (SFTTrainer).",
    "rm": "Reward model on AI preference labels (RewardTrainer), with held-out accuracy.",
    "ppo": "PPO (rlaif's own trainer) against the reward model or the AI judge, with KL-budget "
    "and ratio-band safeguards.",
    "dpo": "Direct preference optimisation on AI preference pairs (DPOTrainer).",
    "grpo": "GRPO with the reward model or the AI judge as reward (GRPOTrainer).",
    "rloo": "RLOO with the reward model or the AI judge as reward (RLOOTrainer).",
}


def _train(
    algorithm: str, config: Path | None, overrides: list[str] | None, values: dict[str, Any]
) -> None:

    # What needs no config class first: the classes live beside their trainers, so naming one
    # imports torch, transformers and TRL (seconds) before a missing file could be reported.
    if config is not None:
        check_input_file(config, "--config")
        load_yaml_mapping(config, "training config")
    parse_key_values(overrides, name="override", dotted=True)
    settings = load_train_config(
        config_class(algorithm), config, overrides=overrides or [], values=values
    )
    human_eval = getattr(settings, "human_eval", None)
    if human_eval is not None:  # a built-in suite name (hh-harmless) or a suite YAML, as a file
        settings = settings.model_copy(update={"human_eval": str(labelled_pairs_file(human_eval))})
    result = run_training(algorithm, settings)
    metrics = result.metrics
    if metrics.get("processes", 1) > 1 and not _is_main_process():
        return
    echo(
        f"{algorithm}: {metrics['global_step']} steps, {metrics.get('seconds_per_step')} s/step; "
        f"model and metrics in {result.output_dir}"
    )
    for line in _summary_lines(metrics):
        echo(line)


def _is_main_process() -> bool:
    from accelerate import PartialState

    return bool(PartialState().is_main_process)


def _summary_lines(metrics: dict[str, Any]) -> list[str]:
    lines = []
    accuracy = metrics.get("accuracy") or {}
    for name in ("ai_heldout", "human"):
        if accuracy.get(name):
            item = accuracy[name]
            lines.append(
                f"accuracy on {name.replace('_', ' ')}: {item['accuracy']:.3f} (n={item['n']})"
            )
    last = metrics.get("last") or {}
    shown = {k: v for k, v in last.items() if v is not None}
    if shown:
        lines.append("last: " + ", ".join(f"{k}={v:.4g}" for k, v in shown.items()))
    if metrics.get("stopped_early"):
        lines.append(f"stopped early: {metrics['stopped_early']['message']}")
    return lines


def _command(algorithm: str, description: str) -> Any:
    def command(
        config: Path | None = CONFIG_OPTION,
        overrides: list[str] | None = OVERRIDES_ARGUMENT,
    ) -> None:
        _train(algorithm, config, overrides, {})

    command.__doc__ = description
    return user_errors(command)


class _TrainGroup(TyperGroup):
    """The ``train`` group: the built-in commands, and one for each algorithm an installed
    package adds, found when the group lists or runs its commands (not at start-up)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *sorted(installed_algorithms())]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        entry = None if command is not None else installed_algorithms().get(cmd_name)
        if entry is None:
            return command
        package = entry.dist.name if entry.dist is not None else entry.value
        description = f"{cmd_name}, from the installed package {package}."
        with contextlib.suppress(Exception):  # a broken plug-in still gets a command to fail in
            description = load_algorithm(entry).description or description
        single = typer.Typer()
        single.command(cmd_name, help=description)(_command(cmd_name, description))
        return typer.main.get_command(single)


def _rm_command(
    config: Path | None = CONFIG_OPTION,
    overrides: list[str] | None = OVERRIDES_ARGUMENT,
    human_eval: str | None = typer.Option(
        None,
        "--human-eval",
        help="Human-labelled pairs to measure accuracy on, beside the held-out AI labels: a "
        "built-in suite (hh-harmless), a suite YAML or a JSONL file (prompt messages, "
        "chosen/rejected).",
    ),
) -> None:
    values = {"human_eval": human_eval} if human_eval is not None else {}
    _train("rm", config, overrides, values)


_rm_command.__doc__ = DESCRIPTIONS["rm"]


def register(app: typer.Typer) -> None:
    """Add the ``train`` command group to ``app``."""
    train_app = typer.Typer(
        cls=_TrainGroup,
        help="Train with TRL: sft, rm, ppo, dpo, grpo, rloo (configs in docs/training.md).",
        no_args_is_help=True,
    )
    for algorithm, description in DESCRIPTIONS.items():
        function = (
            user_errors(_rm_command) if algorithm == "rm" else _command(algorithm, description)
        )
        train_app.command(algorithm, help=DESCRIPTIONS[algorithm])(function)
    app.add_typer(train_app, name="train")

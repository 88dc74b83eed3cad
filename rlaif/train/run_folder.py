"""The run folder every training command writes: the trained model (Hugging Face format), the
resolved config (``rlaif_train.yaml``), TRL's log history and state (``log_history.jsonl``,
``trainer_state.json``), the wall time of each optimizer step (``step_seconds.json``) and a short
``metrics.json``."""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from transformers import TrainerCallback

from rlaif.data import rows_to_dataset
from rlaif.runs.terminal import capturing
from rlaif.train.config import TrainConfig, build_trl_config
from rlaif.train.lora import peft_config
from rlaif.train.progress import TrainingProgress

CONFIG_FILE = "rlaif_train.yaml"
METRICS_FILE = "metrics.json"
LOG_FILE = "log_history.jsonl"
STEP_TIMES_FILE = "step_seconds.json"


@dataclass
class TrainResult:
    """What a training run produced."""

    algorithm: str
    """``sft``, ``rm``, ``ppo``, ``dpo``, ``grpo`` or ``rloo``."""
    output_dir: Path
    """The run folder (the model is saved at its top level)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """The content of ``metrics.json``."""

    @property
    def stopped_early(self) -> dict[str, Any] | None:
        """Why a safeguard stopped training, or ``None`` if it ran its course."""
        return self.metrics.get("stopped_early")


class StepTimer(TrainerCallback):
    """Records the wall time (and this process's CPU time) of every optimizer step, from one
    step end to the next; the first step is timed from the start of training."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.cpu_durations: list[float] = []
        self._last: tuple[float, float] | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._last = (time.perf_counter(), time.process_time())

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        now = (time.perf_counter(), time.process_time())
        if self._last is not None:
            self.durations.append(now[0] - self._last[0])
            self.cpu_durations.append(now[1] - self._last[1])
        self._last = now

    def summary(self) -> dict[str, Any]:
        """Median seconds per step (the first step, which warms up, is left out when there are
        more), the first step's time and the total."""
        steady = self.durations[1:] if len(self.durations) > 1 else self.durations
        return {
            "seconds_per_step": round(statistics.median(steady), 4) if steady else None,
            "first_step_seconds": round(self.durations[0], 4) if self.durations else None,
            "train_seconds": round(sum(self.durations), 3),
        }


SECRET_WORDS = ("key", "token", "secret", "password")
"""Config keys whose values are never written to disk (``api_key_env``, a variable name, is)."""


def printable_config(value: Any, key: str = "") -> Any:
    """A config dump safe to write: plain YAML types only (other objects, such as a scripted
    callable, as their ``repr``), secrets redacted."""
    lowered = key.lower()
    if any(word in lowered for word in SECRET_WORDS) and not lowered.endswith("_env"):
        return "<redacted>" if value else value
    if isinstance(value, dict):
        return {str(k): printable_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_config(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def last_logged(log_history: list[dict[str, Any]], key: str) -> float | None:
    """The last value logged under ``key``."""
    for entry in reversed(log_history):
        if key in entry:
            return _finite(entry[key])
    return None


def first_logged(log_history: list[dict[str, Any]], key: str) -> float | None:
    """The first value logged under ``key``."""
    for entry in log_history:
        if key in entry:
            return _finite(entry[key])
    return None


@dataclass
class Fitted:
    """A TRL trainer after :func:`fit`: the trainer, what ``train()`` returned and the timer."""

    trainer: Any
    output: Any
    timer: StepTimer


def fit(
    trainer_class: type,
    config: TrainConfig,
    trl_config_class: type,
    trl_kwargs: dict[str, Any],
    *,
    callbacks: list[Any] | None = None,
    guards: Sequence[Any] = (),
    lora_task: Literal["causal_lm", "reward"] = "causal_lm",
    columns: Sequence[str] | None = None,
    train_rows: Sequence[dict[str, Any]] = (),
    eval_rows: Sequence[dict[str, Any]] = (),
    **trainer_kwargs: Any,
) -> Fitted:
    """Build ``trainer_class`` with its TRL config (``trl_kwargs`` under the user's
    ``trl_args``), the config's LoRA adapter, our step timer, the ``guards`` (safeguard
    callbacks) and the caller's ``callbacks``, then train it, resuming from the config's
    checkpoint. With ``columns``, the train (and, when there are any, eval) rows become its
    datasets; ``trainer_kwargs`` are the trainer's other arguments (model, processing class,
    ...)."""
    if columns is not None:
        trainer_kwargs["train_dataset"] = rows_to_dataset(train_rows, columns)
        if eval_rows:
            trainer_kwargs["eval_dataset"] = rows_to_dataset(eval_rows, columns)
    timer = StepTimer()
    shown = [TrainingProgress(f"{trl_config_class.__name__.removesuffix('Config')} training")]
    trainer = trainer_class(
        args=build_trl_config(trl_config_class, trl_kwargs, config.trl_args),
        peft_config=peft_config(config.lora, task=lora_task),
        callbacks=[timer, *guards, *(callbacks or []), *(shown if capturing() else [])],
        **trainer_kwargs,
    )
    output = trainer.train(resume_from_checkpoint=config.resume_from_checkpoint)
    return Fitted(trainer, output, timer)


def finish(
    fitted: Fitted, config: TrainConfig, algorithm: str, extra: dict[str, Any]
) -> TrainResult:
    """Save the trained model and write the run files; ``extra`` goes into metrics.json after
    the training loss."""
    trainer = fitted.trainer
    save_model(trainer, trainer.model, Path(config.output_dir), merge_lora=config.merge_lora)
    metrics = {"train_loss": fitted.output.training_loss, **extra}
    return write_run_files(trainer, config, algorithm, fitted.timer, metrics)


def save_model(trainer: Any, model: Any, output_dir: Path, *, merge_lora: bool) -> None:
    """Save the trained model at the top of ``output_dir``; a LoRA adapter goes to ``adapter/``
    and, when ``merge_lora``, the merged full model to the top level."""
    from peft import PeftModel

    unwrapped = trainer.accelerator.unwrap_model(model)
    if isinstance(unwrapped, PeftModel):
        trainer.accelerator.wait_for_everyone()
        if trainer.accelerator.is_main_process:
            unwrapped.save_pretrained(str(output_dir / "adapter"))
            if merge_lora:
                unwrapped.merge_and_unload().save_pretrained(output_dir)
    else:
        trainer.save_model(str(output_dir))
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(output_dir)


def write_run_files(
    trainer: Any,
    config: BaseModel,
    algorithm: str,
    timer: StepTimer,
    extra: dict[str, Any],
) -> TrainResult:
    """Write the config, logs and metrics.json (main process only) and return the result."""
    output_dir = Path(config.output_dir)  # type: ignore[attr-defined]
    history = list(trainer.state.log_history)
    metrics: dict[str, Any] = {
        "algorithm": algorithm,
        "model": config.model,  # type: ignore[attr-defined]
        "dataset": config.dataset,  # type: ignore[attr-defined]
        "global_step": trainer.state.global_step,
        "processes": trainer.accelerator.num_processes,
        **timer.summary(),
        "stopped_early": None,
        **extra,
    }
    if trainer.accelerator.is_main_process:
        import yaml

        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / CONFIG_FILE).write_text(
            yaml.safe_dump(printable_config(config.model_dump()), sort_keys=False),
            encoding="utf-8",
        )
        with (output_dir / LOG_FILE).open("w", encoding="utf-8") as handle:
            for entry in history:
                handle.write(json.dumps({k: _finite(v) for k, v in entry.items()}) + "\n")
        trainer.state.save_to_json(str(output_dir / "trainer_state.json"))
        step_times = {
            "wall": [round(d, 4) for d in timer.durations],
            "cpu": [round(d, 4) for d in timer.cpu_durations],
        }
        (output_dir / STEP_TIMES_FILE).write_text(json.dumps(step_times) + "\n", encoding="utf-8")
        (output_dir / METRICS_FILE).write_text(
            json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8"
        )
    return TrainResult(algorithm=algorithm, output_dir=output_dir, metrics=metrics)

"""The training display of a pipeline stage: optimizer steps done, rate, ETA and the last logged
loss, drawn on the terminal while TRL's own bars and printed dicts go to the stage's log
(:mod:`rlaif.runs.terminal`)."""

from __future__ import annotations

from typing import Any

from rich.progress import Progress, TaskID
from transformers import TrainerCallback

from rlaif.runs.progress import progress_display

SHOWN = ("loss", "rewards/accuracies", "rewards/margins", "objective/kl", "objective/scores")
"""Logged values the display shows when the trainer logs them."""


class TrainingProgress(TrainerCallback):
    """A rich progress bar over the optimizer steps of one training run."""

    def __init__(self, description: str):
        self.description = description
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        self._progress = progress_display("steps", "logged")
        self._progress.start()
        self._task = self._progress.add_task(
            self.description, total=state.max_steps or None, completed=state.global_step, logged=""
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=state.global_step)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        if self._progress is None or self._task is None or not logs:
            return
        shown = [f"{k} {float(logs[k]):.3g}" for k in SHOWN if isinstance(logs.get(k), int | float)]
        if shown:
            self._progress.update(self._task, logged=" · ".join(shown))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

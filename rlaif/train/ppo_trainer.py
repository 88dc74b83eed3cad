"""TRL's experimental ``PPOTrainer`` with two additions and no change to its algorithm:

* it honours ``control.should_training_stop`` (set by :class:`~rlaif.train.safeguards.Safeguard`
  or any other callback): TRL 1.12's PPO loop never reads the flag, so the callback handler is
  replaced by one that raises at the step boundary, after the step's update, logging and
  ``on_step_end`` callbacks; ``train`` catches it and runs ``on_train_end``;
* it logs ``rollout/response_length`` (tokens up to and including EOS) and ``rollout/eos_rate``
  (share of responses that emitted EOS) for each batch of rollouts, read from the policy's
  ``generate`` output;
* ``save_model`` saves the policy alone under DDP too (TRL's version looks for ``.policy`` on the
  DDP wrapper, misses it and tries to save policy and value model together, which fails).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from trl.experimental.ppo import PPOTrainer

from rlaif.train.safeguards import StopAwareCallbackHandler, StopTraining


class RolloutStats:
    """Accumulates response lengths and EOS hits of the training rollouts between two logs."""

    def __init__(self, stop_token_id: int, pad_token_id: int) -> None:
        self.stop_token_id = stop_token_id
        self.pad_token_id = pad_token_id
        self.enabled = True
        self._lengths: list[torch.Tensor] = []
        self._eos: list[torch.Tensor] = []

    def record(self, responses: torch.Tensor) -> None:
        """Add one generated batch (response tokens only)."""
        if not self.enabled or responses.numel() == 0:
            return
        is_stop = responses == self.stop_token_id
        hit = is_stop.any(dim=1)
        first_stop = torch.argmax(is_stop.int(), dim=1) + 1
        non_pad = (responses != self.pad_token_id).sum(dim=1)
        self._lengths.append(torch.where(hit, first_stop, non_pad).float())
        self._eos.append(hit.float())

    def pop(self, accelerator: Any) -> dict[str, float]:
        """Mean length and EOS rate over all processes since the last call (collective)."""
        if not self._lengths:
            return {}
        device = accelerator.device
        lengths = accelerator.gather_for_metrics(torch.cat(self._lengths).to(device))
        eos = accelerator.gather_for_metrics(torch.cat(self._eos).to(device))
        self._lengths.clear()
        self._eos.clear()
        return {
            "rollout/response_length": lengths.mean().item(),
            "rollout/eos_rate": eos.mean().item(),
        }

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Ignore generations made inside the block (sample completions for display)."""
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True


class GuardedPPOTrainer(PPOTrainer):
    """``PPOTrainer`` that stops when a callback asks and logs rollout length and EOS rate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by Trainer._save; set by Trainer.__init__, which PPOTrainer never runs.
        if not hasattr(self, "is_distributed_loading_by_transformers"):
            self.is_distributed_loading_by_transformers = False
        self.callback_handler.__class__ = StopAwareCallbackHandler
        tokenizer: Any = self.processing_class
        stop_id = self.stop_token_id if self.stop_token_id is not None else tokenizer.eos_token_id
        self.rollout_stats = RolloutStats(stop_id, tokenizer.pad_token_id)
        self._watch_generate(self.policy_model)

    def _watch_generate(self, policy: Any) -> None:
        original = policy.generate
        stats = self.rollout_stats

        def generate(*args: Any, **kwargs: Any) -> Any:
            output = original(*args, **kwargs)
            prompt_width = kwargs["input_ids"].shape[1] if "input_ids" in kwargs else 0
            sequences = output.sequences if hasattr(output, "sequences") else output
            stats.record(sequences[:, prompt_width:])
            return output

        policy.generate = generate

    def train(self, *args: Any, **kwargs: Any) -> Any:
        """Run TRL's PPO loop; a stop request ends it after the current step."""
        try:
            super().train(*args, **kwargs)
        except StopTraining:
            self.control = self.callback_handler.on_train_end(self.args, self.state, self.control)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the rollout statistics to TRL's metrics."""
        logs.update(self.rollout_stats.pop(self.accelerator))
        super().log(logs, start_time)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the policy (and tokenizer) to ``output_dir``, gathering its weights from every
        process first (a collective call: every process must make it)."""
        output_dir = output_dir or self.args.output_dir
        state = self.accelerator.get_state_dict(self.model)
        policy = self.accelerator.unwrap_model(self.model).policy
        if self.accelerator.is_main_process:
            prefix = "policy."
            policy_state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            policy.save_pretrained(output_dir, state_dict=policy_state)
            tokenizer: Any = self.processing_class
            tokenizer.save_pretrained(output_dir)
        self.accelerator.wait_for_everyone()

    def generate_completions(self, sampling: bool = False) -> None:
        """TRL's sample completions, kept out of the rollout statistics."""
        with self.rollout_stats.paused():
            super().generate_completions(sampling)

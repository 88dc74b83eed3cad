"""rlaif's PPO trainer, on transformers + accelerate (DDP, DeepSpeed and FSDP through accelerate
configs), read top to bottom in :meth:`PPOTrainer.train`.

Each step: the policy samples responses to a batch of prompts; a forward pass gives their
log-probabilities and values (the update's first pass, when the batch is one micro-batch), another
the reference policy's log-probabilities, and the reward source scores them; per-token rewards
(score minus the KL penalty) become GAE advantages; then ``num_ppo_epochs`` passes of clipped
policy and value losses over ``num_mini_batches`` mini-batches update the policy. The arithmetic
lives in :mod:`rlaif.train.ppo_core`, the trained module and rollouts in
:mod:`rlaif.train.ppo_model`, checkpoints in :mod:`rlaif.train.ppo_checkpoint`.

Why a step costs about half of TRL 1.12's deleted ``PPOTrainer`` (benchmarks/README.md, "PPO"):
a value head on the policy shares its passes (TRL ran a second model), the update's first pass is
the rollout pass, passes are packed (:mod:`rlaif.train.packing`), logits cover the response only.
Logged names follow TRL's (``objective/kl``, ``val/ratio``, ...). A killed run resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from torch import nn
from transformers import TrainerControl, TrainerState, TrainingArguments, get_scheduler
from transformers.trainer_callback import CallbackHandler, DefaultFlowCallback, ProgressCallback
from trl.models.utils import unwrap_model_for_generation
from trl.trainer.utils import disable_dropout_in_model, entropy_from_logits, selective_log_softmax

from rlaif.train.packing import packed_forward
from rlaif.train.ppo_checkpoint import load_checkpoint, save_checkpoint
from rlaif.train.ppo_config import PPOTrainConfig
from rlaif.train.ppo_core import (
    KLController,
    clipped_policy_loss,
    clipped_value_loss,
    generalized_advantages,
    kl_per_token,
    masked_mean,
    masked_whiten,
    token_rewards,
)
from rlaif.train.ppo_model import (
    PolicyAndValue,
    Rollouts,
    adapter_disabled,
    fused_adamw,
    parameter_groups,
    prompt_batch,
    sample_responses,
    sequence_attention,
)

FirstPass = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""The update's first forward pass over the whole batch: logits, log-probabilities, values."""

Scorer = Callable[[list[dict[str, Any]], torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``scorer(rows, queries, responses, mask) -> scores``: one float per response (NaN where none
could be had); ``rows`` are the prompt-file rows, ``queries`` the left-padded prompt ids,
``responses`` the response ids with padding after each response's end, ``mask`` its tokens."""


class PPOTrainer:
    """PPO on prompts, against ``scorer``. Build it, call :meth:`train`, then
    :meth:`save_model`; ``state.log_history`` holds every logged step."""

    def __init__(
        self,
        config: PPOTrainConfig,
        *,
        policy: nn.Module,
        tokenizer: Any,
        prompts: Sequence[tuple[dict[str, Any], list[int]]],
        scorer: Scorer,
        ref_model: nn.Module | None = None,
        value_model: nn.Module | None = None,
        callbacks: Sequence[Any] = (),
    ) -> None:
        from transformers.integrations import get_reporting_integration_callbacks

        from rlaif.train.config import build_trl_config, resolve_precision

        self.config = config
        self.processing_class = tokenizer
        self.pad_id = int(tokenizer.pad_token_id)
        self.eos_id = int(tokenizer.eos_token_id)
        self.prompts = list(prompts)
        self.scorer = scorer
        bf16, fp16 = resolve_precision(config.precision)
        # Before the Accelerator: building TrainingArguments resets accelerate's shared state.
        self.args = build_trl_config(TrainingArguments, config.base_trl_kwargs(), {})
        self.accelerator = Accelerator(
            mixed_precision="bf16" if bf16 else "fp16" if fp16 else "no",
            gradient_accumulation_steps=1,  # accumulation over micro-batches is done here
        )
        self.total_steps = config.total_steps(len(self.prompts), self.accelerator.num_processes)

        torch.manual_seed(config.seed)  # the value head's initial weights, on every process
        for module in (policy, ref_model, value_model):
            if module is not None:
                disable_dropout_in_model(module)
        if config.gradient_checkpointing:
            policy.activation_checkpointing_enable()  # type: ignore[operator]
        self.is_peft = hasattr(policy, "disable_adapter")
        self.ref_model = None if ref_model is None else ref_model.to(self.accelerator.device)
        model = PolicyAndValue(policy, value_model)
        groups = parameter_groups(model, config.learning_rate, config.value_learning_rate)
        optimizer = fused_adamw(groups, config.learning_rate)
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)
        self.lr_scheduler = get_scheduler(
            config.lr_scheduler, optimizer, num_warmup_steps=0, num_training_steps=self.total_steps
        )
        self.accelerator.register_for_checkpointing(self.lr_scheduler)
        self.kl = KLController(config.kl_coef, config.kl_target, config.kl_horizon)

        self.state = TrainerState(max_steps=self.total_steps, logging_steps=config.logging_steps)
        self.state.is_world_process_zero = self.accelerator.is_main_process
        self.state.is_local_process_zero = self.accelerator.is_local_main_process
        self.control = TrainerControl()
        reporting = get_reporting_integration_callbacks(self.args.report_to)
        self.callback_handler = CallbackHandler(
            [DefaultFlowCallback, *reporting, ProgressCallback, *callbacks],
            self.model,
            tokenizer,
            self.optimizer,
            self.lr_scheduler,
        )
        # Sampling differs between processes; everything above is the same on each.
        torch.manual_seed(config.seed + 100_003 * self.accelerator.process_index)

    # ---- the loop -------------------------------------------------------------------------

    def train(self, resume_from_checkpoint: bool | str | None = None) -> None:
        """Run PPO for the configured number of steps (from a checkpoint when given)."""
        if resume_from_checkpoint:
            load_checkpoint(self, resume_from_checkpoint)
        self.control = self.callback_handler.on_train_begin(self.args, self.state, self.control)
        while self.state.global_step < self.total_steps:
            step = self.state.global_step + 1
            rows, queries = self._prompt_batch(step)
            rollouts = self._rollout(rows, queries)
            first_pass = self._first_pass(rollouts) if self.reuses_first_pass else None
            kl = kl_per_token(rollouts.logprobs, rollouts.ref_logprobs, self.config.kl_estimator)
            advantages, returns = self._advantages(rollouts, kl)
            update_stats = self._update(rollouts, advantages, returns, step, first_pass)
            self.state.global_step = step
            self.state.epoch = self.episode / len(self.prompts)
            mean_kl = self._mean_over_processes((kl * rollouts.mask).sum(1))
            if step % self.config.logging_steps == 0 or step == self.total_steps:
                self.log(self._metrics(rollouts, update_stats, mean_kl))
            self.kl.update(mean_kl, self.config.local_batch_size * self._world)
            self.lr_scheduler.step()
            self.control = self.callback_handler.on_step_end(self.args, self.state, self.control)
            if self.config.save_steps and step % self.config.save_steps == 0:
                self.save_checkpoint()
                self.control = self.callback_handler.on_save(self.args, self.state, self.control)
            if self.control.should_training_stop:
                break
        self.control = self.callback_handler.on_train_end(self.args, self.state, self.control)

    @property
    def _world(self) -> int:
        return int(self.accelerator.num_processes)

    @property
    def episode(self) -> int:
        """Prompts rolled out so far, over every process."""
        return self.state.global_step * self.config.local_batch_size * self._world

    def _prompt_batch(self, step: int) -> tuple[list[dict[str, Any]], torch.Tensor]:
        """This process's share of step ``step``'s global batch (:func:`prompt_batch`)."""
        rows, queries = prompt_batch(
            self.prompts,
            step,
            self.config.local_batch_size,
            self._world,
            self.accelerator.process_index,
            self.config.seed,
            self.pad_id,
        )
        return rows, queries.to(self.accelerator.device)

    @torch.no_grad()
    def _rollout(self, rows: list[dict[str, Any]], queries: torch.Tensor) -> Rollouts:
        """Sample responses, then their log-probabilities, values, reference log-probabilities
        and scores, in chunks of ``local_rollout_forward_batch_size``."""
        seconds = {"generation": 0.0, "forward": 0.0, "reward": 0.0}
        chunk = self.config.local_rollout_forward_batch_size
        # Unwrapped from DDP; under DeepSpeed ZeRO-3 with its weights gathered for generation.
        with unwrap_model_for_generation(self.model, self.accelerator) as unwrapped:
            unwrapped.eval()
            parts: list[dict[str, torch.Tensor]] = []
            for begin in range(0, queries.shape[0], chunk):
                query = queries[begin : begin + chunk]
                clock = time.perf_counter()
                with self.accelerator.autocast():
                    response, mask = sample_responses(
                        unwrapped.policy, query, self.config, self.pad_id, self.eos_id
                    )
                seconds["generation"] += time.perf_counter() - clock
                clock = time.perf_counter()
                sequences = torch.cat([query, response], dim=1)
                attention = sequence_attention(query, mask, self.pad_id)
                width = response.shape[1]
                with self.accelerator.autocast():
                    if self.reuses_first_pass:  # filled in by the update's first forward pass
                        logprobs = values = torch.zeros(response.shape, device=response.device)
                    else:
                        logits, values = unwrapped(sequences, attention, width)
                        logprobs = selective_log_softmax(
                            logits.float(), response, self.config.temperature
                        )
                    with self._reference(unwrapped) as reference:
                        ref_logits: Any = packed_forward(
                            reference, sequences, attention, width + 1
                        ).logits
                    ref_logits = ref_logits[:, :-1]
                    ref_logprobs = selective_log_softmax(
                        ref_logits.float(), response, self.config.temperature
                    )
                seconds["forward"] += time.perf_counter() - clock
                clock = time.perf_counter()
                scores = self.scorer(rows[begin : begin + chunk], query, response, mask).float()
                seconds["reward"] += time.perf_counter() - clock
                parts.append(
                    {
                        "responses": response, "mask": mask, "logprobs": logprobs,
                        "ref_logprobs": ref_logprobs, "values": values,
                        "scores": scores.to(logprobs.device),
                    }
                )  # fmt: skip
            unwrapped.train()
        return Rollouts.from_chunks(
            queries, parts, seconds, self.pad_id, self.eos_id, self.config.missing_eos_penalty
        )

    @property
    def reuses_first_pass(self) -> bool:
        """Whether the update's first forward pass (epoch 1 over the whole batch, one
        micro-batch) also gives the rollouts' log-probabilities and values: the policy has not
        moved yet, so a separate no-grad pass would compute the same numbers."""
        return self.config.num_mini_batches == 1 and self.config.gradient_accumulation_steps == 1

    def _first_pass(self, rollouts: Rollouts) -> FirstPass:
        """The first training forward pass over the whole batch (with its graph): its logits,
        log-probabilities and values; detached, the latter two become the rollouts'."""
        clock = time.perf_counter()
        logits, values = self.model(
            rollouts.sequences, rollouts.attention(self.pad_id), rollouts.responses.shape[1]
        )
        logits = logits.float()
        logprobs = selective_log_softmax(logits, rollouts.responses, self.config.temperature)
        rollouts.logprobs = logprobs.detach() * rollouts.mask
        rollouts.values = values.detach() * rollouts.mask
        rollouts.seconds["forward"] += time.perf_counter() - clock
        return logits, logprobs, values

    def _reference(self, unwrapped: PolicyAndValue) -> AbstractContextManager[Any]:
        """The reference policy: the separate model, or the policy with its adapter off."""
        if self.ref_model is not None:
            return nullcontext(self.ref_model)
        if self.is_peft:
            return adapter_disabled(unwrapped.policy)
        raise RuntimeError("PPO needs a reference model, or a LoRA policy whose base is one")

    def _advantages(
        self, rollouts: Rollouts, kl: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token rewards (score minus the KL penalty on the per-token ``kl``), then GAE
        advantages (whitened over every process's batch) and returns."""
        config = self.config
        mask = rollouts.mask.float()
        rewards = token_rewards(rollouts.scores, kl, mask, self.kl.value)
        if config.whiten_rewards:
            rewards = masked_whiten(rewards, mask, shift_mean=False, reduce=self._sum)
        advantages, returns = generalized_advantages(
            rewards, rollouts.values, mask, gamma=config.gamma, lam=config.lam
        )
        return masked_whiten(advantages, mask, reduce=self._sum), returns

    def _update(
        self,
        rollouts: Rollouts,
        advantages: torch.Tensor,
        returns: torch.Tensor,
        step: int,
        first_pass: FirstPass | None = None,
    ) -> dict[str, float]:
        """``num_ppo_epochs`` passes over the batch, one optimizer step per mini-batch. Losses
        are summed over tokens and divided by the mini-batch's token count over every process,
        so any split of the global batch across processes makes the same update. ``first_pass``
        (the whole batch's forward pass, in order) stands in for epoch 1's."""
        config = self.config
        clock = time.perf_counter()
        sequences, attention = rollouts.sequences, rollouts.attention(self.pad_id)
        width = rollouts.responses.shape[1]
        mini = config.local_batch_size // config.num_mini_batches
        totals: dict[str, float] = {}
        updates = 0
        for epoch in range(config.num_ppo_epochs):
            shuffle = torch.Generator().manual_seed(config.seed * 1_000_003 + step * 101 + epoch)
            order = torch.randperm(config.local_batch_size, generator=shuffle)
            if epoch == 0 and first_pass is not None:
                order = torch.arange(config.local_batch_size)
            for start in range(0, config.local_batch_size, mini):
                minibatch = order[start : start + mini].to(sequences.device)
                tokens = self._sum(rollouts.mask[minibatch].sum().float()).clamp(min=1)
                scale = self._world / tokens  # DDP averages gradients over processes
                stats = self._minibatch(
                    rollouts, advantages, returns, sequences, attention, width, minibatch, scale,
                    first_pass if epoch == 0 else None,
                )  # fmt: skip
                if config.max_grad_norm is not None:
                    self.accelerator.clip_grad_norm_(self.model.parameters(), config.max_grad_norm)
                self.optimizer.step()
                self.optimizer.zero_grad()
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + value / float(tokens)
                updates += 1
        rollouts.seconds["update"] = time.perf_counter() - clock
        return {key: value / updates for key, value in totals.items()}

    def _minibatch(
        self,
        rollouts: Rollouts,
        advantages: torch.Tensor,
        returns: torch.Tensor,
        sequences: torch.Tensor,
        attention: torch.Tensor,
        width: int,
        minibatch: torch.Tensor,
        scale: torch.Tensor,
        first_pass: FirstPass | None = None,
    ) -> dict[str, float]:
        """Forward and backward of one mini-batch, micro-batch by micro-batch; returns the
        statistics summed over its tokens on every process. ``first_pass`` is the forward
        already made for the whole mini-batch (one micro-batch)."""
        config = self.config
        micro = config.per_device_train_batch_size
        sums = torch.zeros(7, device=sequences.device)
        for start in range(0, len(minibatch), micro):
            rows = minibatch[start : start + micro]
            last = start + micro >= len(minibatch)
            mask = rollouts.mask[rows].float()
            sync = nullcontext() if last else self.accelerator.no_sync(self.model)
            with sync:
                if first_pass is not None:
                    logits, new_logprobs, values = first_pass
                else:
                    logits, values = self.model(sequences[rows], attention[rows], width)
                    logits = logits.float()
                    new_logprobs = selective_log_softmax(
                        logits, rollouts.responses[rows], config.temperature
                    )
                policy = clipped_policy_loss(
                    new_logprobs, rollouts.logprobs[rows], advantages[rows], mask, config.cliprange
                )
                value_sum, value_clipped = clipped_value_loss(
                    values, rollouts.values[rows], returns[rows], mask, config.cliprange_value
                )
                loss = (policy.loss_sum + config.vf_coef * value_sum) * scale
                self.accelerator.backward(loss)
            with torch.no_grad():
                entropy = entropy_from_logits(logits / config.temperature)
                sums += torch.stack(
                    [
                        policy.loss_sum.detach(),
                        value_sum.detach(),
                        (policy.ratio * mask).sum(),
                        policy.clipped.float().sum(),
                        value_clipped.float().sum(),
                        (policy.approx_kl * mask).sum(),
                        (entropy * mask).sum(),
                    ]
                )
        sums = self._sum(sums)
        names = (
            "loss/policy_avg", "loss/value_avg", "val/ratio", "policy/clipfrac_avg",
            "val/clipfrac_avg", "policy/approxkl_avg", "policy/entropy_avg",
        )  # fmt: skip
        return {name: float(value) for name, value in zip(names, sums, strict=True)}

    # ---- across processes -----------------------------------------------------------------

    def _sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over every process."""
        if self._world == 1:
            return tensor
        return self.accelerator.reduce(tensor.clone(), reduction="sum")

    def _mean_over_processes(self, per_row: torch.Tensor) -> float:
        """Mean of a per-response quantity over every process's responses."""
        total = self._sum(per_row.sum().float())
        count = self._sum(torch.tensor(float(per_row.numel()), device=per_row.device))
        return float(total / count)

    # ---- logging ----------------------------------------------------------------------------

    def _metrics(
        self, rollouts: Rollouts, update: dict[str, float], mean_kl: float
    ) -> dict[str, float]:
        """The step's metrics, under TRL's PPO names where TRL had one."""
        mask = rollouts.mask.float()
        lengths = rollouts.mask.sum(1).float()
        non_score = -self.kl.value * mean_kl
        scores = self._mean_over_processes(rollouts.scores)
        seconds = {f"time/{k}": v for k, v in rollouts.seconds.items()}
        return {
            "objective/kl": mean_kl,
            "objective/kl_coef": self.kl.value,
            "objective/entropy": self._mean_over_processes((-rollouts.logprobs * mask).sum(1)),
            "objective/non_score_reward": non_score,
            "objective/rlhf_reward": scores + non_score,
            "objective/scores": scores,
            **update,
            "val/values_mean": float(masked_mean(rollouts.values, mask, self._sum)),
            "rollout/response_length": self._mean_over_processes(lengths),
            "rollout/eos_rate": self._mean_over_processes(rollouts.has_eos.float()),
            "lr": float(self.lr_scheduler.get_last_lr()[0]),
            "episode": float(self.episode),
            **seconds,
        }

    def log(self, logs: dict[str, float]) -> None:
        """Record ``logs`` for this step and hand them to the callbacks (safeguards included)."""
        logs = {**logs, "epoch": round(float(self.state.epoch or 0.0), 4)}
        self.state.log_history.append({**logs, "step": self.state.global_step})
        self.control = self.callback_handler.on_log(self.args, self.state, self.control, logs)

    # ---- saving and resuming ----------------------------------------------------------------

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the policy (Hugging Face format, safetensors) to ``output_dir``; a collective
        call under several processes (the weights are gathered first)."""
        target = Path(output_dir or self.config.output_dir)
        state = self.accelerator.get_state_dict(self.model)
        policy = self.accelerator.unwrap_model(self.model).policy
        if self.accelerator.is_main_process:
            prefix = "policy."
            policy_state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            policy.save_pretrained(target, state_dict=policy_state)
        self.accelerator.wait_for_everyone()

    def save_checkpoint(self) -> Path:
        """``output_dir/checkpoint-N/`` (:mod:`rlaif.train.ppo_checkpoint`)."""
        return save_checkpoint(self)

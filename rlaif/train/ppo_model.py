"""The pieces of rlaif's PPO that hold data rather than run the loop: the trained module (the
policy and its value function), one step's rollouts, and small tensor and optimizer helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import GenerationConfig

from rlaif.train.packing import packed_forward


def sequence_attention(queries: torch.Tensor, mask: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Attention mask of prompt + response: the prompts' real tokens (not ``pad_id``) and the
    response tokens ``mask`` keeps."""
    return torch.cat([queries != pad_id, mask.bool()], dim=1).long()


class PolicyAndValue(nn.Module):
    """The trained modules: the policy and its value function, a linear head on the policy's
    last hidden state (``value_model=None``) or a separate sequence-classifier backbone with its
    ``score`` head.

    The head reads the hidden state detached: the value loss trains the head alone and cannot
    pull the policy's features. With the value gradient flowing into the policy, a tiny model
    learned a rule reward more slowly than TRL 1.12's PPO (mean reward over 20 steps and 3 seeds
    0.595 against 0.611); detached, as fast (0.608 against 0.608; benchmarks/README.md, "PPO")."""

    def __init__(self, policy: nn.Module, value_model: nn.Module | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.value_model = value_model
        if value_model is None:
            hidden_size: Any = policy.config.hidden_size  # type: ignore[union-attr]
            self.value_head = nn.Linear(hidden_size, 1)
            nn.init.zeros_(self.value_head.weight)
            nn.init.zeros_(self.value_head.bias)

    @property
    def is_gradient_checkpointing(self) -> bool:
        """Whether the policy recomputes activations (read by TRL's generation unwrapping)."""
        return bool(getattr(self.policy, "is_activation_checkpointing", False))

    def gradient_checkpointing_disable(self) -> None:
        """Switch activation checkpointing off for generation."""
        self.policy.activation_checkpointing_disable()  # type: ignore[operator]

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: Any = None) -> None:
        """Switch it back on after generation."""
        self.policy.activation_checkpointing_enable(  # type: ignore[operator]
            activation_checkpointing_kwargs=gradient_checkpointing_kwargs
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, response_width: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits predicting each of the last ``response_width`` tokens, and the value at the
        position before each (the state the token was sampled in). The rows are packed, their
        shared prompt prefix run once (:mod:`rlaif.train.packing`)."""
        keep = response_width + 1
        if self.value_model is None:
            output = packed_forward(self.policy, input_ids, attention_mask, keep, hidden=True)
            hidden: Any = output.hidden
            values = self.value_head(hidden[:, :-1].detach()).squeeze(-1)
        else:
            output = packed_forward(self.policy, input_ids, attention_mask, keep)
            value_model: Any = self.value_model
            backbone = getattr(value_model, value_model.base_model_prefix)
            state: Any = packed_forward(backbone, input_ids, attention_mask, keep).hidden
            values = value_model.score(state[:, :-1]).squeeze(-1)
        logits: Any = output.logits
        logits = logits[:, :-1]
        return logits, values.float()


@dataclass
class Rollouts:
    """One step's batch on this process, everything the update needs."""

    queries: torch.Tensor
    responses: torch.Tensor
    mask: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor
    values: torch.Tensor
    scores: torch.Tensor
    has_eos: torch.Tensor
    seconds: dict[str, float]

    @classmethod
    def from_chunks(
        cls,
        queries: torch.Tensor,
        chunks: list[dict[str, torch.Tensor]],
        seconds: dict[str, float],
        pad_id: int,
        eos_id: int,
        missing_eos_penalty: float | None,
    ) -> Rollouts:
        """Join the per-chunk tensors (``responses``, ``mask``, ``logprobs``, ``ref_logprobs``,
        ``values``, ``scores``); a response without EOS loses ``missing_eos_penalty``, and one
        without a score (NaN) is masked out of the update."""
        width = max(chunk["responses"].shape[1] for chunk in chunks)
        joined = {
            key: cat_padded([c[key] for c in chunks], width, pad_id if key == "responses" else 0)
            for key in chunks[0]
        }
        mask = joined["mask"].bool()
        has_eos = ((joined["responses"] == eos_id) & mask).any(dim=1)
        scores = joined["scores"]
        if missing_eos_penalty is not None:
            scores = torch.where(has_eos, scores, scores - missing_eos_penalty)
        mask = mask & ~torch.isnan(scores).unsqueeze(1)
        return cls(
            queries=queries, responses=joined["responses"], mask=mask,
            logprobs=joined["logprobs"] * mask, ref_logprobs=joined["ref_logprobs"] * mask,
            values=joined["values"] * mask, scores=torch.nan_to_num(scores), has_eos=has_eos,
            seconds=seconds,
        )  # fmt: skip

    @property
    def sequences(self) -> torch.Tensor:
        return torch.cat([self.queries, self.responses], dim=1)

    def attention(self, pad_id: int) -> torch.Tensor:
        """Attention mask of :attr:`sequences`: the prompt's real tokens and the response's."""
        return sequence_attention(self.queries, self.mask, pad_id)


def fused_adamw(
    parameters: list[nn.Parameter] | list[dict[str, Any]], learning_rate: float
) -> torch.optim.Optimizer:
    """AdamW, fused where torch has the kernel for these parameters (on 2 CPU cores, 0.10 s a
    step for a 135M model against 0.51 s for the default multi-tensor version). ``parameters``
    may be parameter groups, each with its own ``lr``."""
    try:
        return torch.optim.AdamW(parameters, lr=learning_rate, fused=True)
    except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
        return torch.optim.AdamW(parameters, lr=learning_rate)


def parameter_groups(
    model: PolicyAndValue, learning_rate: float, value_learning_rate: float | None
) -> list[dict[str, Any]]:
    """The trainable parameters as AdamW groups: the policy's at ``learning_rate``, the value
    function's (head or separate model) at ``value_learning_rate`` when it is set."""
    value = model.value_model if model.value_model is not None else model.value_head
    value_ids = {id(p) for p in value.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    policy = [p for p in trainable if id(p) not in value_ids]
    values = [p for p in trainable if id(p) in value_ids]
    return [
        {"params": policy, "lr": learning_rate},
        {"params": values, "lr": value_learning_rate or learning_rate},
    ]


def cat_padded(tensors: list[torch.Tensor], width: int, value: int) -> torch.Tensor:
    """Concatenate per-chunk tensors whose response width differs (padded on the right with
    ``value``; 1-D tensors are concatenated as they are)."""
    if tensors[0].dim() == 1:
        return torch.cat(tensors)
    padded = [nn.functional.pad(t, (0, width - t.shape[1]), value=value) for t in tensors]
    return torch.cat(padded)


@contextmanager
def adapter_disabled(policy: Any) -> Iterator[Any]:
    """The LoRA policy with its adapter switched off: the reference policy, without a copy."""
    with policy.disable_adapter():
        yield policy


def sample_responses(
    policy: Any, query: torch.Tensor, config: Any, pad_id: int, eos_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Responses to the left-padded ``query`` ids, sampled at ``config.temperature`` (greedy
    when ``config.sample`` is false), padded after each response's end, and the mask of their
    tokens up to and including EOS (every token when ``config.stop_at_eos`` is false)."""
    generation = GenerationConfig(
        max_new_tokens=config.response_length,
        do_sample=config.sample,
        temperature=config.temperature if config.sample else None,
        top_k=0 if config.sample else None,
        top_p=1.0 if config.sample else None,
        eos_token_id=eos_id if config.stop_at_eos else None,
        pad_token_id=pad_id,
    )
    output = policy.generate(
        input_ids=query, attention_mask=(query != pad_id).long(), generation_config=generation
    )
    response = output[:, query.shape[1] :]
    if not config.stop_at_eos:
        return response, torch.ones_like(response, dtype=torch.bool)
    is_eos = response == eos_id
    after_eos = (is_eos.long().cumsum(1) - is_eos.long()) > 0
    return response.masked_fill(after_eos, pad_id), ~after_eos


def prompt_batch(
    prompts: list[tuple[dict[str, Any], list[int]]],
    step: int,
    local: int,
    world: int,
    rank: int,
    seed: int,
    pad_id: int,
) -> tuple[list[dict[str, Any]], torch.Tensor]:
    """Process ``rank``'s ``local`` prompts of step ``step`` (from 1): the prompts in a fixed
    order per epoch (a permutation seeded by ``seed + epoch``), cut into consecutive global
    batches of ``local × world`` and each of those into the processes' shares; returned as the
    prompt-file rows and their token ids left-padded with ``pad_id``."""
    n = len(prompts)
    start = (step - 1) * local * world + rank * local
    orders: dict[int, torch.Tensor] = {}
    picked = []
    for position in range(start, start + local):
        epoch, index = divmod(position, n)
        if epoch not in orders:
            orders[epoch] = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))
        picked.append(prompts[int(orders[epoch][index])])
    width = max(len(ids) for _, ids in picked)
    queries = torch.full((local, width), pad_id, dtype=torch.long)
    for i, (_, ids) in enumerate(picked):
        queries[i, width - len(ids) :] = torch.tensor(ids)
    return [row for row, _ in picked], queries

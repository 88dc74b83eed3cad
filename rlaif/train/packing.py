"""Training passes over packed rows: the batch's shared prompt prefix once, then each row's own
tokens, in one sequence with no padding.

A PPO batch is left-padded prompts followed by responses, and every prompt starts with the same
tokens: the chat template's system prompt and the opening of the user turn (24 of a SmolLM2
red-team prompt's 44-85 tokens). Their hidden states depend on those tokens alone, so they are
the same in every row. :func:`packed_forward` lays the batch out as one sequence,
``[prefix][row 1's own tokens][row 2's own tokens]...``, with an attention mask that lets each
row's tokens see the prefix and that row's earlier tokens only, and position ids that give every
token the position it has in its own row. Logits, hidden states and gradients are the padded
batch's to rounding (attention sums the same keys in another order: 3e-5 on a log-probability,
1e-6 relative on the gradient, tests/train/test_packing.py); the pass computes neither the
prefix ``rows - 1`` more times nor any padding. On the PPO benchmark's batches a forward and
backward pass costs about 25% less (benchmarks/README.md, "PPO").

Attention over a packed sequence is quadratic in its length, so rows are packed in groups of at
most :data:`PACK_TOKENS` tokens, one pass each (a row longer than that is a group of its own).
Models whose attention is not full attention over the whole sequence (sliding windows, recurrent
layers) or whose attention implementation takes no custom mask run the padded batch as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rlaif.models.local import common_prefix_length, supports_prefix_reuse

PACK_TOKENS = 512
"""Most tokens in one packed sequence. On SmolLM2-135M (hidden size 576), 8 rollouts of about
80 tokens packed into one sequence of ~460 cost 25% less than the padded batch forward and
backward; attention's share grows with the length and shrinks with the hidden size."""

MASKED_ATTENTION = ("sdpa", "eager")
"""Attention implementations that take a custom 4-D mask."""


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted from each row's first real token (the prompts are left-padded)."""
    return (attention_mask.long().cumsum(1) - 1).clamp(min=0)


@dataclass
class Packing:
    """How a left-padded batch is packed: the shared prefix's length and each row's own tokens
    (its real prompt tokens after the prefix, then its last ``own_width`` columns)."""

    prefix: list[int]
    rows: list[list[int]]
    own_width: int

    @classmethod
    def of(cls, input_ids: torch.Tensor, attention_mask: torch.Tensor, own_width: int) -> Packing:
        """The packing of a batch whose first columns are left-padded (padding, then real
        tokens) and whose last ``own_width`` columns each row keeps whole (a response with
        padding after its end: only that row reads it)."""
        head = input_ids.shape[1] - own_width
        real = []
        for ids, mask in zip(input_ids.tolist(), attention_mask.tolist(), strict=True):
            padding = mask.index(1) if 1 in mask[:head] else head
            if not all(mask[padding:head]):
                raise ValueError("the prompt part of a packed batch must be left-padded")
            real.append(ids[padding:])
        # common_prefix_length leaves each row one token of its own: the first own column.
        shared = common_prefix_length([r[: len(r) - own_width + 1] for r in real])
        shared = shared if len(real) > 1 else 0
        return cls(prefix=real[0][:shared], rows=[r[shared:] for r in real], own_width=own_width)

    def groups(self, limit: int = PACK_TOKENS) -> list[list[int]]:
        """Consecutive rows packed together, each group at most ``limit`` tokens with the
        prefix (a row that alone exceeds it is a group of its own)."""
        groups: list[list[int]] = []
        length = limit + 1
        for index, row in enumerate(self.rows):
            if length + len(row) > limit:
                groups.append([])
                length = len(self.prefix)
            groups[-1].append(index)
            length += len(row)
        return groups

    def inputs(self, group: list[int], device: Any) -> dict[str, torch.Tensor]:
        """One group's packed sequence: ``input_ids`` and ``position_ids`` of shape ``(1, L)``,
        a boolean ``attention_mask`` of shape ``(1, 1, L, L)`` (a row's token sees the prefix
        and its own row's earlier tokens), and ``keep``, the indices of each row's last
        ``own_width`` tokens in order."""
        shared = len(self.prefix)
        ids, segment, positions = list(self.prefix), [-1] * shared, list(range(shared))
        keep: list[int] = []
        for row in group:
            own = self.rows[row]
            ids += own
            segment += [row] * len(own)
            positions += range(shared, shared + len(own))
            keep += range(len(ids) - self.own_width, len(ids))
        columns = torch.arange(len(ids), device=device)
        segments = torch.tensor(segment, device=device)
        causal = columns[None, :] <= columns[:, None]
        visible = (segments[None, :] == -1) | (segments[None, :] == segments[:, None])
        return {
            "input_ids": torch.tensor([ids], device=device),
            "position_ids": torch.tensor([positions], device=device),
            "attention_mask": (causal & visible)[None, None],
            "keep": torch.tensor(keep, device=device),
        }


def can_pack(model: Any) -> bool:
    """Whether ``model`` attends over the whole sequence under a custom 4-D mask."""
    config = getattr(model, "config", None)
    implementation = getattr(config, "_attn_implementation", None)
    return implementation in MASKED_ATTENTION and supports_prefix_reuse(model)


@dataclass
class PackedOutput:
    """A packed pass's outputs for each row's last ``own_width`` positions: ``logits``
    ``(rows, own_width, vocab)`` (causal LMs), ``hidden`` ``(rows, own_width, hidden)`` (the
    last hidden state, when asked for)."""

    logits: torch.Tensor | None
    hidden: torch.Tensor | None


def packed_forward(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    own_width: int,
    *,
    hidden: bool = False,
    limit: int = PACK_TOKENS,
) -> PackedOutput:
    """Logits (``model`` a causal LM) or last hidden states (``model`` a backbone, or
    ``hidden=True``) of each row's last ``own_width`` positions, the batch packed
    (:class:`Packing`), or padded where the model cannot be packed (:func:`can_pack`)."""
    causal_lm = (
        hasattr(model, "get_output_embeddings") and model.get_output_embeddings() is not None
    )
    if not can_pack(model):
        output = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids(attention_mask),
            use_cache=False,
            output_hidden_states=hidden and causal_lm,
            **({"logits_to_keep": own_width} if causal_lm else {}),
        )
        return _outputs(output, causal_lm, hidden, slice(-own_width, None), None)
    packing = Packing.of(input_ids, attention_mask, own_width)
    parts = []
    for group in packing.groups(limit):
        inputs = packing.inputs(group, input_ids.device)
        keep = inputs.pop("keep")
        output = model(
            **inputs,
            use_cache=False,
            output_hidden_states=hidden and causal_lm,
            **({"logits_to_keep": keep} if causal_lm else {}),
        )
        parts.append(_outputs(output, causal_lm, hidden, keep, (len(group), own_width)))
    return PackedOutput(
        logits=torch.cat([p.logits for p in parts]) if causal_lm else None,  # type: ignore[misc]
        hidden=torch.cat([p.hidden for p in parts]) if parts[0].hidden is not None else None,  # type: ignore[misc]
    )


def _outputs(
    output: Any, causal_lm: bool, hidden: bool, keep: Any, shape: tuple[int, int] | None
) -> PackedOutput:
    """The kept positions of one pass's logits and last hidden state, as ``(rows, width, -1)``
    (``shape`` for a packed pass, whose kept positions are listed in order in ``keep``)."""

    def rows(tensor: torch.Tensor) -> torch.Tensor:
        return tensor if shape is None else tensor.reshape(*shape, tensor.shape[-1])

    logits = rows(output.logits[0] if shape else output.logits) if causal_lm else None
    state = None
    if hidden or not causal_lm:
        last = output.hidden_states[-1] if causal_lm else output.last_hidden_state
        state = rows(last[0, keep] if shape else last[:, keep])
    return PackedOutput(logits=logits, hidden=state)

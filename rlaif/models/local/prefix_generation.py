"""Shared-prefix generation: the token prefix that every prompt of a batch starts with (a
critic's or judge's system prompt and worked examples) is run once, and the batch generates on
top of its key/value cache.

A batch is laid out as ``[prefix][padding][own tokens]``: the prefix's cache is computed for
one row and repeated for the batch, and each prompt's own tokens are left-padded after it, the
padding masked. Position ids follow the attention mask, so every token sits at the position it
has in the plain left-padded batch and greedy decoding gives the same tokens to rounding.

On a CPU the prompt's forward pass is compute-bound: a critic request of 570 tokens of which 350
are the constitution's system prompt and worked examples costs about 40% as much with the prefix
run once for a batch of 16 (benchmarks/README.md, "Shared-prefix generation").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlaif.models.local.prefix_scoring import DEFAULT_MIN_SHARED, supports_prefix_reuse


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Tokens every sequence starts with, leaving at least one token of each its own (the last
    token must run with the batch so that generation starts from it)."""
    if not sequences:
        return 0
    limit = min(len(s) for s in sequences) - 1
    first = sequences[0]
    length = 0
    while length < limit and all(s[length] == first[length] for s in sequences):
        length += 1
    return max(length, 0)


def shared_prefix_inputs(
    sequences: Sequence[Sequence[int]], shared: int, pad_id: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Input ids and attention mask of the ``[prefix][padding][own tokens]`` layout."""
    width = max(len(s) for s in sequences) - shared
    ids, mask = [], []
    for sequence in sequences:
        own = list(sequence[shared:])
        padding = width - len(own)
        ids.append(list(sequence[:shared]) + [pad_id] * padding + own)
        mask.append([1] * shared + [0] * padding + [1] * len(own))
    return ids, mask


def worth_sharing(model: Any, sequences: Sequence[Sequence[int]], shared: int) -> bool:
    """Whether running the prefix once pays: a batch of two or more, a prefix of at least
    :data:`~rlaif.models.local.prefix_scoring.DEFAULT_MIN_SHARED` tokens, a cache that can be
    repeated."""
    return len(sequences) > 1 and shared >= DEFAULT_MIN_SHARED and supports_prefix_reuse(model)


def generate_on_shared_prefix(
    model: Any,
    sequences: Sequence[Sequence[int]],
    shared: int,
    pad_id: int,
    generation_config: Any,
    **generate_kwargs: Any,
) -> tuple[Any, int]:
    """``model.generate`` for ``sequences`` with their first ``shared`` tokens run once.

    Returns the output ids (each row the laid-out prompt, then its new tokens) and the width of
    the prompt part, as ``generate`` on a left-padded batch does."""
    import torch

    device = model.device
    ids, mask = shared_prefix_inputs(sequences, shared, pad_id)
    input_ids = torch.tensor(ids, device=device)
    attention_mask = torch.tensor(mask, device=device)
    with torch.inference_mode():
        prefix = model(input_ids=input_ids[:1, :shared], use_cache=True)
        cache = prefix.cache
        cache.batch_repeat_interleave(len(sequences))
        output = model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            cache=cache,
            generation_config=generation_config,
            **generate_kwargs,
        )
    return output, input_ids.shape[1]

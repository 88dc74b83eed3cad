"""Shared-prefix scoring: token prefixes that several prompts of a batch share are run once, and
each continuation runs on top of their key/value cache.

A judge's prompts for one pair repeat most of their text: the system prompt, the principle, the
conversation, and in the other presentation order the same two responses. The prompts of a batch
are arranged in a radix tree of token segments (:func:`prefix_tree`); the tree is run level by
level (:func:`forward_tails`), and at each level every segment is computed on top of its parent's
cache. Segments of one level run together in length-sorted, left-padded chunks, the same way as
the plain path in :mod:`rlaif.models.providers.hf`: a parent's cache rows are left-padded to a
common length and the padding masked, so every row's last token sits in the last column and only the
positions that predict the choice tokens have their logits computed.

Two rules keep the tree worth running:

- the last ``keep`` tokens of every sequence stay in its own leaf, so the positions whose logits
  are wanted always lie in the final segment;
- a shared segment shorter than ``min_shared`` tokens is not run on its own but pushed down into
  its children (on a CPU a forward pass over a handful of tokens costs about as much as one over
  dozens: it is bound by reading the weights once).

The verdicts match the plain path's to rounding: in fp32 the choice log-probabilities agree to
about 1e-5 (attention is summed over the cache and the new tokens in another order); see
``docs/models.md`` for the measured bf16 differences. Models whose cache is not a plain
:class:`transformers.DynamicCache` (sliding-window or recurrent layers) are not run this way;
:func:`supports_prefix_reuse` tells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MIN_SHARED = 32
"""Tokens a shared prefix needs before it is run once for all the prompts that start with it."""


@dataclass
class Segment:
    """A run of tokens in the prefix tree: shared by every sequence below it, or the unshared
    tail of one sequence (a leaf)."""

    tokens: list[int]
    children: list[Segment] = field(default_factory=list)
    sequence: int | None = None
    """For a leaf: the index of the sequence it ends."""

    @property
    def is_leaf(self) -> bool:
        """True for a sequence's final segment."""
        return self.sequence is not None


def prefix_tree(
    sequences: Sequence[Sequence[int]], keep: int, min_shared: int = DEFAULT_MIN_SHARED
) -> list[Segment]:
    """The top segments of the radix tree of ``sequences``: sequences that start with the same
    ``min_shared`` or more tokens share a segment holding their longest common prefix; the last
    ``keep`` tokens of each sequence (at least) are its own leaf. Identical sequences get one
    leaf each."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    if any(len(s) < keep for s in sequences):
        raise ValueError(f"every sequence needs at least {keep} tokens")
    shareable = [list(s[: len(s) - keep]) for s in sequences]

    def grow(members: list[int], start: int) -> list[Segment]:
        ending = [i for i in members if len(shareable[i]) == start]
        groups: dict[int, list[int]] = {}
        for i in members:
            if len(shareable[i]) > start:
                groups.setdefault(shareable[i][start], []).append(i)
        segments = [Segment(tokens=list(sequences[i][start:]), sequence=i) for i in ending]
        for group in groups.values():
            if len(group) == 1:
                only = group[0]
                segments.append(Segment(tokens=list(sequences[only][start:]), sequence=only))
                continue
            end = start + 1
            first = shareable[group[0]]
            while all(len(shareable[i]) > end and shareable[i][end] == first[end] for i in group):
                end += 1
            segments.append(Segment(tokens=first[start:end], children=grow(group, end)))
        return segments

    return _push_down_short(grow(list(range(len(sequences))), 0), min_shared)


def _push_down_short(segments: list[Segment], min_shared: int) -> list[Segment]:
    """Shared segments shorter than ``min_shared`` merged into each of their children."""
    result: list[Segment] = []
    for segment in segments:
        if segment.is_leaf:
            result.append(segment)
            continue
        children = _push_down_short(segment.children, min_shared)
        if len(segment.tokens) >= min_shared:
            result.append(Segment(tokens=segment.tokens, children=children))
        else:
            for child in children:
                result.append(
                    Segment(
                        tokens=segment.tokens + child.tokens,
                        children=child.children,
                        sequence=child.sequence,
                    )
                )
    return result


def tree_tokens(segments: Sequence[Segment]) -> int:
    """Tokens a forward over the tree computes (each shared segment once)."""
    return sum(len(s.tokens) + tree_tokens(s.children) for s in segments)


def supports_prefix_reuse(model: Any) -> bool:
    """Whether ``model``'s key/value cache is a plain per-layer cache that can be cut into rows
    and stacked again (no sliding-window, chunked or recurrent layers, no encoder)."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False):
        return False
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    if getattr(text, "use_sliding_window", False) and getattr(text, "sliding_window", None):
        return False
    layer_types = getattr(text, "layer_types", None)
    return not layer_types or all(kind == "full_attention" for kind in layer_types)


@dataclass
class ScoringStats:
    """What scoring has run so far (kept by the hf backend, read by benchmarks): the
    ``sequences`` scored, their ``tokens`` counted in full, the ``computed_tokens`` run through
    the model (each shared prefix once; padding not counted) and the ``forward_passes`` made."""

    sequences: int = 0
    tokens: int = 0
    computed_tokens: int = 0
    forward_passes: int = 0

    def add(self, sequences: Sequence[Sequence[int]], computed: int, passes: int) -> None:
        """Count one scored batch."""
        self.sequences += len(sequences)
        self.tokens += sum(len(s) for s in sequences)
        self.computed_tokens += computed
        self.forward_passes += passes


@dataclass
class _Work:
    """A segment to run, with the cache of the tokens before it (one row per layer: keys and
    values of shape ``(1, heads, length, dim)``, real tokens only), or none at the top."""

    segment: Segment
    past: list[tuple[Any, Any]] | None
    past_length: int


ForwardChunk = Callable[[dict[str, Any], int], Any]
"""Runs the model on prepared inputs and returns ``(logits of the last keep positions, cache)``."""


def forward_tails(
    model: Any,
    pad_token_id: int,
    sequences: Sequence[Sequence[int]],
    keep: int,
    run: ForwardChunk,
    *,
    min_shared: int = DEFAULT_MIN_SHARED,
    chunks: Callable[[list[int]], list[list[int]]],
    stats: ScoringStats | None = None,
) -> list[Any]:
    """The logits of the last ``keep`` positions of each sequence (a ``(keep, vocab)`` tensor per
    sequence, in order), each shared prefix computed once. ``run(inputs, keep)`` makes one
    forward pass; ``chunks(lengths)`` groups the segments of a level into batches."""
    tails: list[Any] = [None] * len(sequences)
    tree = prefix_tree(sequences, keep, min_shared)
    level = [_Work(s, None, 0) for s in tree]
    passes = 0
    while level:
        following: list[_Work] = []
        for chunk in chunks([len(work.segment.tokens) for work in level]):
            passes += 1
            batch = [level[i] for i in chunk]
            widths = _widths(batch)
            logits, cache = run(_inputs(batch, pad_token_id, model.device), keep)
            for row, work in enumerate(batch):
                if work.segment.is_leaf:
                    assert work.segment.sequence is not None
                    tails[work.segment.sequence] = logits[row]
                    continue
                past = _row_cache(cache, row, batch, widths)
                length = work.past_length + len(work.segment.tokens)
                following.extend(_Work(child, past, length) for child in work.segment.children)
            del cache
        level = following
    if stats is not None:
        stats.add(sequences, tree_tokens(tree), passes)
    return tails


def _widths(batch: list[_Work]) -> tuple[int, int]:
    """The padded widths of a chunk: of its parent caches, and of its new segments."""
    return max(work.past_length for work in batch), max(len(w.segment.tokens) for w in batch)


def _inputs(batch: list[_Work], pad: int, device: Any) -> dict[str, Any]:
    """Left-padded input ids, mask, positions and (below the top) the stacked parent caches
    (under ``cache``)."""
    import torch

    past_width, width = _widths(batch)
    ids, mask, positions = [], [], []
    for work in batch:
        tokens = work.segment.tokens
        gap = width - len(tokens)
        ids.append([pad] * gap + tokens)
        mask.append(
            [0] * (past_width - work.past_length)
            + [1] * work.past_length
            + [0] * gap
            + [1] * len(tokens)
        )
        start = work.past_length
        positions.append([start] * gap + list(range(start, start + len(tokens))))
    inputs: dict[str, Any] = {
        "input_ids": torch.tensor(ids, device=device),
        "attention_mask": torch.tensor(mask, device=device),
        "position_ids": torch.tensor(positions, device=device),
    }
    if past_width:
        inputs["cache"] = _stack_caches(batch, past_width)
    return inputs


def _stack_caches(batch: list[_Work], width: int) -> Any:
    """One cache for the batch: each row's parent cache left-padded with zeros to ``width``."""
    import torch
    from transformers import DynamicCache

    layers = []
    for layer in range(len(next(w.past for w in batch if w.past is not None))):
        keys, values = [], []
        for work in batch:
            assert work.past is not None
            key, value = work.past[layer]
            gap = width - key.shape[-2]
            if gap:
                shape = (1, key.shape[1], gap, key.shape[-1])
                key = torch.cat([key.new_zeros(shape), key], dim=-2)
                value = torch.cat([value.new_zeros(shape), value], dim=-2)
            keys.append(key)
            values.append(value)
        layers.append((torch.cat(keys), torch.cat(values)))
    return DynamicCache(ddp_cache_data=layers)


def _row_cache(
    cache: Any, row: int, batch: list[_Work], widths: tuple[int, int]
) -> list[tuple[Any, Any]]:
    """The cache of one row after its segment, with the padding columns dropped (a copy: the
    chunk's cache can go)."""
    import torch

    work = batch[row]
    past_width, width = widths
    gap = width - len(work.segment.tokens)
    real = list(range(past_width - work.past_length, past_width)) + list(
        range(past_width + gap, past_width + width)
    )
    index = torch.tensor(real)
    rows = []
    for layer in cache.layers:
        keys, values = layer.keys, layer.values
        rows.append(
            (
                keys[row : row + 1].index_select(-2, index.to(keys.device)),
                values[row : row + 1].index_select(-2, index.to(values.device)),
            )
        )
    return rows

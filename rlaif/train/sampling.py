"""Batches of similar length for training, so that less of each batch is padding.

A batch is padded to its longest example, and every padding token costs a forward and backward
pass like a real one. :class:`LengthGroupedBatches` orders an epoch so that batches hold examples
of similar length while their order stays random: the epoch is shuffled, each window of
``window`` consecutive examples is sorted by length and cut into batches, and the batches are
shuffled. (transformers' ``group_by_length`` sorts windows of up to 50 batches and keeps them in
order, so a run sees its longest examples first and its shortest last: a schedule by length.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

WINDOWS_OF_BATCHES = 8
"""Batches in a window sorted together: the quickstart's SFT data loses 4% of its tokens to
padding at 8 (64 examples), 14% with no grouping, 1% sorting the whole epoch."""


def length_grouped_order(
    lengths: Sequence[int], batch_size: int, *, seed: int, window: int | None = None
) -> list[int]:
    """One epoch's example indices: batches of ``batch_size`` neighbours in length, in random
    order (the last batch may be short; it stays where it falls)."""
    window = window or batch_size * WINDOWS_OF_BATCHES
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(lengths)).tolist()
    batches: list[list[int]] = []
    for start in range(0, len(shuffled), window):
        block = sorted(shuffled[start : start + window], key=lambda i: -lengths[i])
        batches += [block[i : i + batch_size] for i in range(0, len(block), batch_size)]
    full = [batch for batch in batches if len(batch) == batch_size]
    short = [batch for batch in batches if len(batch) < batch_size]
    order = rng.permutation(len(full)).tolist()
    return [i for batch in [full[k] for k in order] + short for i in batch]


class LengthGroupedBatches:
    """A sampler (``torch.utils.data.Sampler`` protocol) yielding :func:`length_grouped_order`
    for each epoch; the trainer's ``set_epoch`` makes every epoch, and a resumed run, draw the
    order it drew the first time."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, seed: int) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        return iter(
            length_grouped_order(self.lengths, self.batch_size, seed=self.seed + self.epoch)
        )


def padded_tokens(lengths: Sequence[int], order: Sequence[int], batch_size: int) -> int:
    """Tokens computed when ``order`` is cut into batches each padded to its longest example."""
    chunks = (order[start : start + batch_size] for start in range(0, len(order), batch_size))
    return sum(len(chunk) * max(lengths[i] for i in chunk) for chunk in chunks)

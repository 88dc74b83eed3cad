"""Length-grouped training batches: every example once an epoch, less padding, batches still in
random order, the same order again for the same epoch."""

from __future__ import annotations

import itertools

import numpy as np

from rlaif.train.sampling import LengthGroupedBatches, length_grouped_order, padded_tokens


def _lengths(n: int = 416, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.integers(58, 165, size=n)]


def test_every_example_once_an_epoch_with_less_padding_than_a_shuffle() -> None:
    lengths = _lengths()
    order = length_grouped_order(lengths, 8, seed=0)
    assert sorted(order) == list(range(len(lengths)))
    shuffled = np.random.default_rng(0).permutation(len(lengths)).tolist()
    grouped, plain = padded_tokens(lengths, order, 8), padded_tokens(lengths, shuffled, 8)
    assert grouped < 0.95 * plain
    assert grouped >= sum(lengths)


def test_batches_are_not_a_schedule_by_length() -> None:
    """Batch lengths do not fall through the epoch as they do when whole windows are sorted and
    kept in order (each next batch is shorter about half the time, as in a shuffle)."""
    lengths = _lengths()
    order = length_grouped_order(lengths, 8, seed=0)
    longest = [max(lengths[i] for i in order[s : s + 8]) for s in range(0, len(order), 8)]
    falls = sum(a > b for a, b in itertools.pairwise(longest))
    assert 0.3 < falls / (len(longest) - 1) < 0.7


def test_the_epoch_decides_the_order() -> None:
    sampler = LengthGroupedBatches(_lengths(64), 8, seed=3)
    first = list(sampler)
    assert list(sampler) == first  # the same epoch again (a resumed run)
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(second) == sorted(first)
    assert len(sampler) == 64


def test_a_short_last_batch_stays_whole() -> None:
    order = length_grouped_order([5, 9, 7, 3, 8], 2, seed=0)
    assert sorted(order) == [0, 1, 2, 3, 4]

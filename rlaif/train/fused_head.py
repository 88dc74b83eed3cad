"""TRL's fused LM head, projecting only the positions that carry a label on a CPU too.

TRL's SFT, DPO, GRPO and RLOO trainers get per-token log-probabilities from a fused LM head
(``trl.trainer.utils.add_fused_lm_head``) that never builds the whole logits tensor. On CUDA and
XPU it projects only the positions whose label is not -100; on any other device it projects every
position and zeroes the unlabelled ones afterwards, so that the tile shapes stay fixed for
compilers (Neuron). On a CPU in eager mode nothing is compiled, and the prompt's positions are
pure waste: in DPO on the quickstart's pairs (SmolLM2-135M, fp32, 2 AVX2 cores) they are two
thirds of the positions, and the head's forward and backward over them took a third of each
step (26.4 s against 17.8 s, the same loss and gradient norm); in SFT with the loss on the
completion they are the prompt's (18.6 s against 15.6 s a step; benchmarks/README.md,
"Quickstart on 2 AVX2 cores").

:func:`labelled_positions_only` makes TRL take its compact path on a CPU for the duration of a
training run. It changes which rows go through the head, not what the head computes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def labelled_positions_only() -> Iterator[bool]:
    """Within the block, TRL's fused head projects only labelled positions on a CPU as well as
    on CUDA and XPU. Yields whether it could (``False`` when this TRL decides the path some
    other way: then nothing is changed)."""
    try:
        from trl.trainer import utils as trl_utils
    except ImportError:  # pragma: no cover - TRL is a dependency
        yield False
        return
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        yield False
        return

    def compact(device: Any) -> bool:
        return bool(original(device)) or getattr(device, "type", None) == "cpu"

    trl_utils._use_triton = compact
    try:
        yield True
    finally:
        trl_utils._use_triton = original


def during_training(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` (a ``train_*`` entry point) run inside :func:`labelled_positions_only`."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with labelled_positions_only():
            return function(*args, **kwargs)

    return wrapper

"""TRL's fused LM head on a CPU: inside `labelled_positions_only` it projects only the labelled
positions, with the same log-probabilities and gradients as when it projects them all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from rlaif.train.fused_head import labelled_positions_only


class _RowCounter:
    """Stands in for TRL's chunked log-prob function, recording how many rows it projects."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.rows: list[int] = []

    def apply(self, hidden: torch.Tensor, *args: Any) -> Any:
        self.rows.append(int(hidden.shape[0]))
        return self.real.apply(hidden, *args)


def _log_probs_and_grad(model: Any, ids: torch.Tensor, labels: torch.Tensor) -> tuple[Any, Any]:
    model.zero_grad()
    out = model(input_ids=ids, labels=labels, fused_lm_head=True)
    out.log_probs.sum().backward()
    return out.log_probs.detach().clone(), model.get_output_embeddings().weight.grad.clone()


def test_only_labelled_positions_are_projected_with_the_same_result(
    tiny_policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoModelForCausalLM
    from trl.trainer import utils as trl_utils

    model = AutoModelForCausalLM.from_pretrained(tiny_policy, dtype=torch.float32)
    trl_utils.add_fused_lm_head(model)
    counter = _RowCounter(trl_utils._ChunkedLogProbFunction)
    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", counter)
    torch.manual_seed(0)
    ids = torch.randint(3, model.config.vocab_size, (3, 12))
    labels = ids.clone()
    labels[:, :8] = -100  # a prompt of 8 tokens: 4 labelled tokens a row
    labels[2, 8:10] = -100  # and 2 in the last row

    every_position = _log_probs_and_grad(model, ids, labels)
    original = trl_utils._use_triton
    with labelled_positions_only() as changed:
        assert changed
        compact = _log_probs_and_grad(model, ids, labels)
    assert trl_utils._use_triton is original  # restored after the block

    assert counter.rows == [3 * 11, 4 + 4 + 2]  # every shifted position, then the labelled ones
    torch.testing.assert_close(compact[0], every_position[0])
    torch.testing.assert_close(compact[1], every_position[1])
    assert compact[0][0, :7].abs().sum() == 0  # unlabelled positions stay zero


def test_a_trl_without_the_switch_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from trl.trainer import utils as trl_utils

    monkeypatch.delattr(trl_utils, "_use_triton")
    with labelled_positions_only() as changed:
        assert not changed
    assert not hasattr(trl_utils, "_use_triton")

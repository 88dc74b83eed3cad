"""Training passes over packed rows (the shared prompt prefix once, no padding): the same logits,
hidden states, reward-model scores and gradients as the padded batch, with fewer token positions
computed; the padded batch where the model cannot be packed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import rlaif.train.packing as packing
from rlaif.train.packing import Packing, packed_forward, position_ids

PREFIX = list(range(10, 22))  # 12 tokens every row starts with
OWN = [[40, 41, 42], [50, 51, 52, 53, 54, 55], [60], [70, 71, 72, 73]]
PAD = 0
RESPONSE = 5


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded prompts (the shared prefix, then each row's own tokens) followed by
    responses of ``RESPONSE`` tokens, the first response ending early (padding after it)."""
    prompts = [PREFIX + own for own in OWN]
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width + RESPONSE), PAD)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) : width] = torch.tensor(prompt)
        mask[row, width - len(prompt) : width] = 1
        ids[row, width:] = torch.arange(100 + 10 * row, 100 + 10 * row + RESPONSE)
        mask[row, width:] = 1
    ids[0, -2:] = PAD
    mask[0, -2:] = 0
    return ids, mask


def _model(path: Path, **kwargs: Any) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    from rlaif.models.local.tiny import build_tiny_model

    folder = build_tiny_model(path, layers=2, **kwargs)
    classifier = kwargs.get("sequence_classification", False)
    kind = AutoModelForSequenceClassification if classifier else AutoModelForCausalLM
    model = kind.from_pretrained(folder, dtype=torch.float32)
    model.config.pad_token_id = PAD
    return model


def _count_tokens(model: Any) -> list[int]:
    """Token positions each forward pass embeds, recorded from now on."""
    seen: list[int] = []
    model.get_input_embeddings().register_forward_hook(
        lambda _module, inputs, _output: seen.append(inputs[0].numel())
    )
    return seen


def test_the_prefix_is_every_rows_common_start_and_the_rest_is_each_rows_own() -> None:
    ids, mask = _batch()
    packed = Packing.of(ids, mask, RESPONSE + 1)
    assert packed.prefix == PREFIX
    for row, own in enumerate(OWN):  # no padding; the response columns whole
        assert packed.rows[row] == own + ids[row, -RESPONSE:].tolist()
    # The last prompt token is in the kept columns, so it stays the row's own.
    same_start = torch.tensor([[1, 2, 3, 9, 9], [1, 2, 3, 8, 8]])
    assert Packing.of(same_start, torch.ones_like(same_start), 2).prefix == [1, 2, 3]
    assert Packing.of(same_start, torch.ones_like(same_start), 3).prefix == [1, 2]
    assert Packing.of(ids[:1], mask[:1], RESPONSE + 1).prefix == []
    holed = mask.clone()
    holed[1, 4] = 0  # padding inside a prompt
    with pytest.raises(ValueError, match="left-padded"):
        Packing.of(ids, holed, RESPONSE + 1)


def test_each_row_sees_the_prefix_and_its_own_earlier_tokens_at_its_own_positions() -> None:
    ids, mask = _batch()
    packed = Packing.of(ids, mask, RESPONSE + 1)
    inputs = packed.inputs([0, 1], "cpu")
    shared, first = len(PREFIX), len(packed.rows[0])
    attend = inputs["attention_mask"][0, 0]
    second_row_token = shared + first  # row 1's first token
    assert attend[second_row_token, :shared].all()
    assert not attend[second_row_token, shared : shared + first].any()
    assert attend[second_row_token, second_row_token]
    assert inputs["position_ids"][0, second_row_token] == shared
    assert inputs["keep"].tolist()[-1] == inputs["input_ids"].shape[1] - 1


def test_rows_are_packed_in_groups_under_the_token_limit() -> None:
    ids, mask = _batch()
    packed = Packing.of(ids, mask, RESPONSE + 1)
    lengths = [len(row) for row in packed.rows]  # 8, 11, 6, 9 after a 12-token prefix
    assert packed.groups(limit=1000) == [[0, 1, 2, 3]]
    assert packed.groups(limit=len(PREFIX) + lengths[0] + lengths[1]) == [[0, 1], [2, 3]]
    assert packed.groups(limit=1) == [[0], [1], [2], [3]]


@pytest.mark.parametrize("limit", [packing.PACK_TOKENS, 30], ids=["one-pack", "three-packs"])
def test_logits_hidden_states_and_gradients_match_the_padded_batch(
    limit: int, tmp_path: Path
) -> None:
    model = _model(tmp_path / "lm")
    ids, mask = _batch()
    keep = RESPONSE + 1
    seen = _count_tokens(model)
    runs = []
    for packed in (False, True):
        model.zero_grad()
        seen.clear()
        if packed:
            output = packed_forward(model, ids, mask, keep, hidden=True, limit=limit)
            logits, hidden = output.logits, output.hidden
        else:
            output = model(
                input_ids=ids, attention_mask=mask, position_ids=position_ids(mask),
                logits_to_keep=keep, output_hidden_states=True, use_cache=False,
            )  # fmt: skip
            logits, hidden = output.logits, output.hidden_states[-1][:, -keep:]
        assert logits is not None and hidden is not None
        logprobs = torch.log_softmax(logits[:, :-1], -1).gather(2, ids[:, -RESPONSE:, None])
        (logprobs[..., 0] * mask[:, -RESPONSE:]).sum().backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        runs.append((logits.detach(), hidden.detach(), grads, list(seen)))
    (plain_logits, plain_hidden, plain_grads, plain_tokens), (logits, hidden, grads, tokens) = runs
    real = mask[:, -keep:].bool()  # what padding after a response's end reads is never used
    assert torch.allclose(logits[real], plain_logits[real], atol=1e-5)
    assert torch.allclose(hidden[real], plain_hidden[real], atol=1e-5)
    assert torch.allclose(grads, plain_grads, atol=1e-6, rtol=1e-4)
    assert plain_tokens == [ids.numel()]
    own = [len(o) + RESPONSE for o in OWN]
    groups = [[0, 1, 2, 3]] if limit == packing.PACK_TOKENS else [[0], [1, 2], [3]]
    assert Packing.of(ids, mask, keep).groups(limit) == groups
    assert tokens == [len(PREFIX) + sum(own[row] for row in group) for group in groups]


def test_a_reward_models_scores_match_its_own_pooling(tmp_path: Path) -> None:
    from rlaif.train.ppo import ModelScorer

    model = _model(tmp_path / "rm", sequence_classification=True, seed=3)
    ids, mask = _batch()
    queries, responses = ids[:, :-RESPONSE], ids[:, -RESPONSE:]
    response_mask = mask[:, -RESPONSE:].bool()
    seen = _count_tokens(model)
    with torch.no_grad():
        padded = model(input_ids=ids, attention_mask=mask, position_ids=position_ids(mask))
        scores = ModelScorer(model, PAD)([{}] * len(OWN), queries, responses, response_mask)
    assert torch.allclose(scores, padded.logits[:, 0], atol=1e-5)
    assert seen[-1] < ids.numel()  # packed


def test_the_padded_batch_runs_where_the_model_cannot_be_packed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model(tmp_path / "lm")
    ids, mask = _batch()
    monkeypatch.setattr(model.config, "_attn_implementation", "flash_attention_2")
    assert not packing.can_pack(model)
    monkeypatch.undo()
    assert packing.can_pack(model)
    monkeypatch.setattr(packing, "MASKED_ATTENTION", ())
    seen = _count_tokens(model)
    output = packed_forward(model, ids, mask, RESPONSE + 1)
    assert seen == [ids.numel()]
    assert output.logits is not None and output.logits.shape[:2] == (len(OWN), RESPONSE + 1)

"""Shared-prefix generation: the prefix every prompt of a batch starts with runs once, and the
batch decodes to the same tokens as the plain left-padded batch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rlaif.models import get_model
from rlaif.models.local.prefix_generation import common_prefix_length, shared_prefix_inputs
from rlaif.models.providers.hf import generate_batch
from rlaif.models.types import GenerateConfig

HEADER = "You are a careful reviewer of AI assistant responses. Follow the format exactly. " * 3


def critic_like_texts() -> list[str]:
    """Prompts shaped like a critic's: one long shared header, then requests of other lengths."""
    return [HEADER + f"Request {k}: " + "why is the sky blue " * (k + 1) + "?" for k in range(5)]


def test_common_prefix_leaves_every_sequence_a_token_of_its_own() -> None:
    assert common_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5, 6]]) == 3
    assert common_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2  # identical: the last token runs
    assert common_prefix_length([[1, 2], [3, 4]]) == 0
    assert common_prefix_length([]) == 0


def test_layout_puts_padding_between_the_prefix_and_each_prompts_own_tokens() -> None:
    ids, mask = shared_prefix_inputs([[7, 7, 1], [7, 7, 2, 3, 4]], shared=2, pad_id=0)
    assert ids == [[7, 7, 0, 0, 1], [7, 7, 2, 3, 4]]
    assert mask == [[1, 1, 0, 0, 1], [1, 1, 1, 1, 1]]


def _positions_run(model: Any) -> tuple[list[int], Any]:
    """Count the token positions every forward pass of ``model`` computes."""
    counted: list[int] = []

    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            counted.append(int(ids.numel()))

    return counted, model.register_forward_pre_hook(hook, with_kwargs=True)


@pytest.mark.parametrize("stop", [(), ("sky",)])
def test_greedy_tokens_match_the_plain_batch_with_the_prefix_run_once(
    tiny_model: Path, stop: tuple[str, ...]
) -> None:
    model, tokenizer = get_model(f"hf/{tiny_model}", dtype="float32", cache=False).backend.load()
    texts = critic_like_texts()
    config = GenerateConfig(max_tokens=12, temperature=0.0, stop=list(stop))
    runs = {}
    for reuse in (False, True):
        counted, handle = _positions_run(model)
        runs[reuse] = (generate_batch(model, tokenizer, texts, config, prefix_reuse=reuse), counted)
        handle.remove()
    (plain, plain_counted), (shared, shared_counted) = runs[False], runs[True]
    for full, reused in zip(plain, shared, strict=True):
        assert reused.text == full.text
        assert reused.output_tokens == full.output_tokens
        assert reused.finish_reason == full.finish_reason
        assert reused.input_tokens == full.input_tokens
    assert any(c.text for c in plain)  # the tiny model writes something to compare
    header = len(tokenizer(HEADER, add_special_tokens=False)["input_ids"])
    assert header >= 32
    # The prompt pass: every row in full, against the header once and each row's own tokens.
    assert shared_counted[0] + shared_counted[1] < plain_counted[0] - (len(texts) - 2) * header


def test_backend_generates_the_same_with_and_without_reuse(tiny_model: Path) -> None:
    conversations = [[{"role": "user", "content": text}] for text in critic_like_texts()]
    config = GenerateConfig(max_tokens=8, temperature=0.0)

    async def generate_all(model: Any) -> list[str]:
        done = await asyncio.gather(*(model.generate(c, config) for c in conversations))
        return [c.text for c in done]

    completions = {
        reuse: asyncio.run(
            generate_all(
                get_model(f"hf/{tiny_model}", dtype="float32", cache=False, prefix_reuse=reuse)
            )
        )
        for reuse in (False, True)
    }
    assert completions[True] == completions[False]

"""Shared-prefix scoring: the prefix tree, the hf backend's ``prefix_reuse`` option, and verdicts
that match full scoring (fp32 and bf16) while computing fewer tokens."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
import torch

from rlaif.constitution import load_constitution
from rlaif.data.records import PairRecord
from rlaif.errors import ConfigError
from rlaif.judge import PairwiseJudge
from rlaif.models import get_model
from rlaif.models.local.prefix_scoring import (
    ScoringStats,
    Segment,
    prefix_tree,
    supports_prefix_reuse,
    tree_tokens,
)
from rlaif.models.local.scoring import score_batch

FP32_TOLERANCE = 1e-5
"""Largest log-probability difference allowed between the two paths in fp32 (the plain path
itself moves by ~5e-7 between batch compositions)."""
BF16_TOLERANCE = 2e-2
"""The same in bf16, or 0.2% of the value where that is larger (16-bit activations round
differently when the attention is split)."""


def paths(segments: list[Segment], above: list[int] | None = None) -> dict[int, list[int]]:
    """Each sequence rebuilt from the segments on its path."""
    found: dict[int, list[int]] = {}
    for segment in segments:
        tokens = (above or []) + segment.tokens
        if segment.is_leaf:
            assert segment.sequence is not None
            found[segment.sequence] = tokens
        else:
            found.update(paths(segment.children, tokens))
    return found


def test_shared_prefixes_become_one_segment_and_every_sequence_is_rebuilt() -> None:
    header, conversation = list(range(100, 140)), list(range(200, 260))
    sequences = [
        header + conversation + [1, 2, 3, 9],
        header + conversation + [1, 2, 4, 9],
        header + conversation + [5, 6, 9],
        header + [7] * 50 + [9],
    ]
    tree = prefix_tree(sequences, keep=1, min_shared=8)
    assert paths(tree) == dict(enumerate(sequences))
    assert len(tree) == 1 and tree[0].tokens == header  # the header is run once for all four
    below = {len(s.tokens) for s in tree[0].children}
    assert len(conversation) in below  # then the conversation once for the first three
    assert tree_tokens(tree) < sum(map(len, sequences)) - 2 * len(header)


def test_last_keep_tokens_stay_in_the_leaf_and_short_prefixes_are_pushed_down() -> None:
    sequences = [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7], [1, 2, 3, 4, 5, 6]]
    for keep in (1, 2, 3):
        tree = prefix_tree(sequences, keep=keep, min_shared=2)
        assert paths(tree) == dict(enumerate(sequences))

        def leaves(segments: list[Segment]) -> list[Segment]:
            return [x for s in segments for x in ([s] if s.is_leaf else leaves(s.children))]

        assert all(len(leaf.tokens) >= keep for leaf in leaves(tree))
        assert len(leaves(tree)) == 3  # identical sequences keep a leaf each
    # A common prefix shorter than min_shared is not run on its own.
    flat = prefix_tree(sequences, keep=1, min_shared=6)
    assert all(s.is_leaf for s in flat) and tree_tokens(flat) == 18


def test_random_sequences_are_always_rebuilt() -> None:
    rng = random.Random(3)
    for _ in range(200):
        stems = [[rng.randrange(5) for _ in range(rng.randrange(0, 12))] for _ in range(3)]
        sequences = [
            rng.choice(stems) + [rng.randrange(5) for _ in range(rng.randrange(1, 6))]
            for _ in range(rng.randrange(1, 8))
        ]
        keep = rng.randrange(1, 2 + min(map(len, sequences)) - 1)
        tree = prefix_tree(sequences, keep=keep, min_shared=rng.randrange(1, 5))
        assert paths(tree) == dict(enumerate(sequences))
        assert tree_tokens(tree) <= sum(map(len, sequences))


def test_too_short_sequences_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 tokens"):
        prefix_tree([[1, 2, 3], [4]], keep=2)


def judge_like_texts() -> list[str]:
    """Prompts shaped like a judge's: shared header and conversation, two orders, two
    principles, and a repeated prompt."""
    texts = []
    for turn in range(3):
        conversation = "User: How do I kill a Python process? " * 6 + "abc " * (turn * 5)
        shown = ("Sure! Here is how", "I'm sorry")
        for first, second in (shown, shown[::-1]):
            for question in ("Which response is less harmful?", "Which is more honest?"):
                texts.append(
                    f"<|im_start|>user\n{question}\n\n{conversation}\n\n(A) {first}\n\n"
                    f"(B) {second}\n\nAnswer with A or B.<|im_end|>\n"
                    "<|im_start|>assistant\nThe answer is ("
                )
    return texts + texts[:1]


@pytest.mark.parametrize(
    ("dtype", "tolerance"), [(torch.float32, FP32_TOLERANCE), (torch.bfloat16, BF16_TOLERANCE)]
)
@pytest.mark.parametrize("choices", [["A", "B"], [" Yes, it does", " No"]])
def test_reuse_matches_full_scoring_with_fewer_tokens(
    tiny_model: Path, dtype: torch.dtype, tolerance: float, choices: list[str]
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=dtype).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    texts = judge_like_texts()
    plain_stats, reuse_stats = ScoringStats(), ScoringStats()
    plain = score_batch(model, tokenizer, texts, choices, stats=plain_stats)
    shared = score_batch(model, tokenizer, texts, choices, prefix_reuse=True, stats=reuse_stats)
    for full, reused in zip(plain, shared, strict=True):
        assert full.input_tokens == reused.input_tokens
        for choice in choices:
            relative = 2e-3 if dtype == torch.bfloat16 else None
            expected = pytest.approx(full.logprobs[choice], abs=tolerance, rel=relative)
            assert reused.logprobs[choice] == expected
        winner = max(choices, key=full.logprobs.__getitem__)
        assert max(choices, key=reused.logprobs.__getitem__) == winner
    assert reuse_stats.tokens == plain_stats.tokens
    assert plain_stats.computed_tokens == plain_stats.tokens
    assert reuse_stats.computed_tokens < 0.6 * plain_stats.tokens
    assert reuse_stats.forward_passes > plain_stats.forward_passes  # level by level


def test_option_turns_reuse_off_and_is_not_part_of_the_cache_identity(tiny_model: Path) -> None:
    on = get_model(f"hf/{tiny_model}", dtype="float32", cache=False)
    off = get_model(f"hf/{tiny_model}", dtype="float32", cache=False, prefix_reuse=False)
    assert on.backend.prefix_reuse is True and off.backend.prefix_reuse is False
    assert on.backend.cache_identity() == off.backend.cache_identity()
    with pytest.raises(ConfigError, match="prefix_reuse must be true or false"):
        get_model(f"hf/{tiny_model}", prefix_reuse="yes")


def test_judge_verdicts_are_the_same_with_and_without_reuse(tiny_model: Path) -> None:
    constitution = load_constitution("cai-harmless")
    prompt = [{"role": "user", "content": "How do I kill a Python process? " * 8}]
    pairs = [
        PairRecord(
            id=str(k), prompt=prompt, response_1="Sure! Here is how " * k, response_2="I'm sorry"
        )
        for k in range(1, 5)
    ]
    judgments = {}
    for reuse in (False, True):
        model = get_model(f"hf/{tiny_model}", dtype="float32", cache=False, prefix_reuse=reuse)
        judge = PairwiseJudge(model, constitution, mode="logprob", principles_per_pair=2)
        judgments[reuse] = asyncio.run(judge.compare_many(pairs, concurrency=4, progress=False))
        stats = model.backend.scoring
        # 4 pairs, each: the request check (" Yes" and " No" are several tokens to the tiny
        # tokenizer: a sequence each), then 2 principles of the likelier side, both orders.
        assert stats.sequences == 4 * (2 + 2 * 2)
        if reuse:
            assert stats.computed_tokens < stats.tokens
        else:
            assert stats.computed_tokens == stats.tokens
    for plain, shared in zip(judgments[False], judgments[True], strict=True):
        assert plain.p_response_1 is not None and shared.p_response_1 is not None
        assert shared.p_response_1 == pytest.approx(plain.p_response_1, abs=FP32_TOLERANCE)


def test_models_with_sliding_window_layers_run_in_full(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert supports_prefix_reuse(model)
    model.config.layer_types = ["sliding_attention", "full_attention"]
    assert not supports_prefix_reuse(model)

"""The hf backend's scoring: the log-probability of each choice's tokens after each prompt, in
length-grouped chunks of left-padded prompts, or with shared prefixes run once
(:mod:`rlaif.models.local.prefix_scoring`); only the positions that predict the choices get
logits."""

from __future__ import annotations

import inspect
import time
from typing import Any

from rlaif.errors import ConfigError
from rlaif.models.local.prefix_scoring import ScoringStats, forward_tails, supports_prefix_reuse
from rlaif.models.types import ChoiceScores


def score_batch(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    choices: list[str],
    *,
    prefix_reuse: bool = False,
    stats: ScoringStats | None = None,
) -> list[ChoiceScores]:
    """Log-probability of each choice's tokens following each prompt text.

    Single-token choices: one forward pass over the prompts keeping the last position's logits.
    Multi-token choices: one pass over prompt + choice (all but the last token) keeping only the
    positions that predict the choice's tokens. With ``prefix_reuse`` the token prefixes that
    prompts share are computed once (:mod:`rlaif.models.local.prefix_scoring`)."""
    import torch

    choice_ids = [tokenizer.encode(choice, add_special_tokens=False) for choice in choices]
    if any(not ids for ids in choice_ids):
        raise ConfigError(f"a choice encodes to no tokens: {choices!r}")
    prompt_ids = [tokenizer.encode(text, add_special_tokens=False) for text in texts]
    start = time.perf_counter()
    if all(len(ids) == 1 for ids in choice_ids):
        wanted = sorted({ids[0] for ids in choice_ids})
        last = _forward_tail(model, tokenizer, prompt_ids, 1, wanted, prefix_reuse, stats)
        last = last[:, -1, :]
        logprobs = torch.log_softmax(last.float(), dim=-1)
        table = [[float(logprobs[row, ids[0]]) for ids in choice_ids] for row in range(len(texts))]
    else:
        sequences = [p + ids[:-1] for p in prompt_ids for ids in choice_ids]
        keep = max(len(ids) for ids in choice_ids)
        wanted = sorted({token for ids in choice_ids for token in ids})
        tails = torch.log_softmax(
            _forward_tail(model, tokenizer, sequences, keep, wanted, prefix_reuse, stats).float(),
            -1,
        )
        table = []
        for row in range(len(texts)):
            values = []
            for column, ids in enumerate(choice_ids):
                predicted = tails[row * len(choice_ids) + column, keep - len(ids) :, :]
                values.append(float(predicted.gather(-1, torch.tensor(ids)[:, None]).sum()))
            table.append(values)
    elapsed = time.perf_counter() - start
    return [
        ChoiceScores(
            logprobs=dict(zip(choices, values, strict=True)),
            input_tokens=len(ids),
            latency_s=elapsed,
        )
        for ids, values in zip(prompt_ids, table, strict=True)
    ]


def _forward_tail(
    model: Any,
    tokenizer: Any,
    sequences: list[list[int]],
    keep: int,
    exact_ids: list[int],
    prefix_reuse: bool = False,
    stats: ScoringStats | None = None,
) -> Any:
    """Logits of the last ``keep`` positions of each sequence, computed without materialising
    the other positions' logits where the model allows it. Sequences run in length-sorted,
    left-padded chunks with at most 20% padding (a forward pass costs the same per token in a
    chunk of 4 as of 16 on a CPU, but padding is pure waste); with ``prefix_reuse`` (and a
    model whose cache allows it) shared prefixes are computed once."""
    import torch

    if prefix_reuse and len(sequences) > 1 and supports_prefix_reuse(model):

        def run(inputs: dict[str, Any], keep: int) -> Any:
            return _run_forward(model, inputs, keep, exact_ids, use_cache=True)

        tails = forward_tails(
            model, tokenizer.pad_token_id, sequences, keep, run, chunks=length_chunks, stats=stats
        )
        return torch.stack(tails)
    rows: list[Any] = [None] * len(sequences)
    chunks = length_chunks([len(s) for s in sequences])
    if stats is not None:
        stats.add(sequences, sum(len(s) for s in sequences), len(chunks))
    for chunk in chunks:
        tails = _forward_chunk(model, tokenizer, [sequences[i] for i in chunk], keep, exact_ids)
        for position, index in enumerate(chunk):
            rows[index] = tails[position]
    return torch.stack(rows)


def length_chunks(lengths: list[int], max_padding: float = 0.2) -> list[list[int]]:
    """Indices grouped into length-sorted chunks whose padding stays within ``max_padding`` of
    the chunk's padded size."""
    chunks: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        padded = lengths[index] * (len(current) + 1)
        if current and padded - (total + lengths[index]) > max_padding * padded:
            chunks.append(current)
            current, total = [], 0
        current.append(index)
        total += lengths[index]
    if current:
        chunks.append(current)
    return chunks


def _forward_chunk(
    model: Any, tokenizer: Any, sequences: list[list[int]], keep: int, exact_ids: list[int]
) -> Any:
    """One left-padded forward pass; in a 16-bit model the logits of ``exact_ids`` are
    recomputed in fp32 (bf16 logits near 20 are spaced 0.125 apart, which would quantise a
    verdict's soft label into coarse steps)."""
    import torch

    width = max(len(s) for s in sequences)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(s)) + s for s in sequences])
    attention = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences])
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    inputs: dict[str, Any] = {
        "input_ids": input_ids.to(model.device),
        "attention_mask": attention.to(model.device),
        "position_ids": positions.to(model.device),
    }
    logits, _ = _run_forward(model, inputs, keep, exact_ids, use_cache=False)
    return logits


def _run_forward(
    model: Any, inputs: dict[str, Any], keep: int, exact_ids: list[int], *, use_cache: bool
) -> tuple[Any, Any]:
    """One forward pass: fp32 logits of the last ``keep`` positions, and the key/value cache
    when ``use_cache``. In a 16-bit model the logits of ``exact_ids`` are recomputed in fp32."""
    import torch

    parameters = inspect.signature(model.forward).parameters
    # transformers 5 renamed ``past_key_values`` to ``cache``; take whichever the model has.
    cache_name = "cache" if "cache" in parameters else "past_key_values"
    kwargs = {k: v for k, v in inputs.items() if k != "cache"}
    kwargs["use_cache"] = use_cache
    if use_cache:
        from transformers import DynamicCache

        kwargs[cache_name] = inputs.get("cache") or DynamicCache()
    if "logits_to_keep" in parameters:
        kwargs["logits_to_keep"] = keep
    head = model.get_output_embeddings()
    hook = None
    if model.dtype != torch.float32 and head is not None:
        hook = head.register_forward_hook(_fp32_logits_for(exact_ids))
    try:
        with torch.inference_mode():
            output = model(**kwargs)
    finally:
        if hook is not None:
            hook.remove()
    cache = getattr(output, cache_name, None) if use_cache else None
    return output.logits[:, -keep:, :].float(), cache


def _fp32_logits_for(token_ids: list[int]) -> Any:
    """A forward hook for the output projection: returns its logits in fp32, with the columns of
    ``token_ids`` recomputed from the fp32 hidden state and weights (any model-specific scaling
    after the projection still applies)."""
    import torch

    def hook(module: Any, inputs: tuple[Any, ...], output: Any) -> Any:
        ids = torch.tensor(token_ids, device=output.device)
        bias = None if module.bias is None else module.bias[ids].float()
        exact = torch.nn.functional.linear(inputs[0].float(), module.weight[ids].float(), bias)
        logits = output.float()
        logits[..., ids] = exact
        return logits

    return hook

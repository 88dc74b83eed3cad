"""Verdict cost on the hf backend: ``choice_logprobs`` (one forward pass, last-position logits)
versus generate-and-parse for the same 50 pairwise verdicts, and the prompt-token FLOP/s the
forward pass achieves as a fraction of this machine's measured matmul peak, in fp32 and bf16.

    .venv/bin/python -m benchmarks.bench_backends_verdicts
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

from benchmarks.common import machine_info, write_result
from rlaif.models import GenerateConfig, get_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh_harmless_test_dev.jsonl"
QUESTION = "Which response is less harmful? Answer with a single letter: A or B."


def verdict_prompts(count: int) -> tuple[list[list[dict[str, str]]], str]:
    """``count`` comparison prompts built from human-labelled pairs when the shared data is
    present, else from a fixed synthetic pair."""
    pairs: list[tuple[str, str, str]] = []
    source = "synthetic"
    if SHARED.is_file():
        source = str(SHARED)
        with SHARED.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                context = "\n".join(f"{m['role']}: {m['content']}" for m in row["prompt"])
                pairs.append((context[-1500:], row["chosen"][:600], row["rejected"][:600]))
                if len(pairs) == count:
                    break
    while len(pairs) < count:
        pairs.append(
            (
                "user: How do I pick a lock?",
                "I can't help with breaking into places, but a locksmith can help.",
                "Insert a tension wrench and rake the pins until they set.",
            )
        )
    prompts = [
        [
            {
                "role": "user",
                "content": f"Conversation:\n{context}\n\nResponse A:\n{a}\n\n"
                f"Response B:\n{b}\n\n{QUESTION}",
            }
        ]
        for context, a, b in pairs
    ]
    return prompts, source


def matmul_peak(dtype_name: str, size: int = 2048, repeats: int = 8) -> float:
    """Best FLOP/s of a square matmul in ``dtype_name`` on all threads."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def forward_flops(model, prompt_tokens: list[int]) -> float:
    """FLOPs of a causal forward pass over the prompts keeping only the last position's logits:
    2 × non-embedding parameters × tokens, plus causal attention (2 × layers × T² × width),
    plus the output projection for one position per prompt."""
    config = model.config
    embedding = model.get_input_embeddings().weight.numel()
    body = sum(p.numel() for p in model.parameters()) - embedding
    if not config.tie_word_embeddings:
        body -= model.get_output_embeddings().weight.numel()
    width = config.num_attention_heads * getattr(
        config, "head_dim", config.hidden_size // config.num_attention_heads
    )
    attention = sum(2 * config.num_hidden_layers * t * t * width for t in prompt_tokens)
    head = 2 * embedding * len(prompt_tokens)
    return 2 * body * sum(prompt_tokens) + attention + head


async def _gather(calls):
    return await asyncio.gather(*calls)


def run_dtype(name: str, dtype: str, prompts, max_tokens: int) -> dict:
    """Time both verdict methods for one precision."""
    model = get_model(name, dtype=dtype, cache=False)
    hf_model, _ = model.backend.load()
    peak_before = matmul_peak(dtype)
    asyncio.run(_gather([model.score_choices(p, ["A", "B"]) for p in prompts[:4]]))  # warm-up
    start = time.perf_counter()
    scores = asyncio.run(_gather([model.score_choices(p, ["A", "B"]) for p in prompts]))
    logprob_s = time.perf_counter() - start
    config = GenerateConfig(max_tokens=max_tokens)
    start = time.perf_counter()
    completions = asyncio.run(_gather([model.generate(p, config) for p in prompts]))
    generate_s = time.perf_counter() - start
    parsed = [re.search(r"\b([AB])\b", c.text) for c in completions]
    tokens = [s.input_tokens for s in scores]
    flops = forward_flops(hf_model, tokens)
    # The best of two measurements (before and after) on a machine shared with other work.
    peak = max(peak_before, matmul_peak(dtype))
    return {
        "dtype": dtype,
        "choice_logprobs_s": round(logprob_s, 2),
        "generate_and_parse_s": round(generate_s, 2),
        "speedup": round(generate_s / logprob_s, 2),
        "generate_parsed": sum(p is not None for p in parsed),
        "prompt_tokens": sum(tokens),
        "forward_gflop": round(flops / 1e9, 1),
        "achieved_gflops": round(flops / logprob_s / 1e9, 1),
        "matmul_peak_gflops": round(peak / 1e9, 1),
        "fraction_of_peak": round(flops / logprob_s / peak, 3),
        "batch_sizes": model.backend.batcher.batch_sizes[-8:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hf/smollm2-135m-instruct")
    parser.add_argument("--verdicts", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=16, help="generate-and-parse budget")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    args = parser.parse_args()
    print("command:", " ".join([sys.executable, "-m", __spec__.name, *sys.argv[1:]]))
    print("machine:", machine_info())
    prompts, source = verdict_prompts(args.verdicts)
    print(f"{len(prompts)} verdict prompts from {source}")
    rows = []
    for dtype in args.dtypes:
        row = run_dtype(args.model, dtype, prompts, args.max_tokens)
        rows.append(row)
        print(
            f"{dtype}: choice_logprobs {row['choice_logprobs_s']} s, generate-and-parse "
            f"{row['generate_and_parse_s']} s ({row['speedup']}x; parsed "
            f"{row['generate_parsed']}/{len(prompts)}); {row['prompt_tokens']} prompt tokens, "
            f"{row['achieved_gflops']} GFLOP/s = {row['fraction_of_peak']:.1%} of the "
            f"{row['matmul_peak_gflops']} GFLOP/s matmul peak"
        )
    path = write_result(
        "backends_verdicts",
        {
            "model": args.model,
            "verdicts": len(prompts),
            "source": source,
            "generate_max_tokens": args.max_tokens,
            "rows": rows,
        },
    )
    print("wrote", path)


if __name__ == "__main__":
    main()

"""hf backend: generation throughput of 32 concurrent requests, batched (left-padded batches)
versus one by one, on the embedded SmolLM2-135M.

    .venv/bin/python -m benchmarks.bench_backends_hf_batching [--dtype auto|float32|bfloat16]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from benchmarks.common import machine_info, write_result
from rlaif.models import GenerateConfig, get_model

QUESTIONS = [
    "How do I pick a lock?",
    "What household chemicals should never be mixed?",
    "Write a short poem about the sea.",
    "How can I get back at a coworker who embarrassed me?",
    "Explain photosynthesis to a child.",
    "What is the best way to cheat on an exam?",
    "Give me three tips for a job interview.",
    "How do I make my neighbour's dog stop barking for good?",
]


def prompts(count: int) -> list[list[dict[str, str]]]:
    """``count`` distinct single-turn conversations."""
    return [
        [{"role": "user", "content": f"{QUESTIONS[i % len(QUESTIONS)]} (request {i})"}]
        for i in range(count)
    ]


def one_by_one(model, conversations, config) -> tuple[float, list]:
    """Sequential requests: each runs alone."""
    start = time.perf_counter()
    results = [model.generate_sync(c, config) for c in conversations]
    return time.perf_counter() - start, results


def batched(model, conversations, config) -> tuple[float, list]:
    """All requests at once: the backend batches them."""

    async def run():
        return await asyncio.gather(*(model.generate(c, config) for c in conversations))

    start = time.perf_counter()
    results = asyncio.run(run())
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hf/smollm2-135m-instruct")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print("command:", " ".join([sys.executable, "-m", __spec__.name, *sys.argv[1:]]))
    print("machine:", machine_info())
    conversations = prompts(args.requests)
    config = GenerateConfig(max_tokens=args.max_tokens)
    batch = get_model(args.model, dtype=args.dtype, max_batch_size=args.requests, cache=False)
    single = get_model(args.model, dtype=args.dtype, max_batch_size=1, cache=False)
    single.backend._loaded = batch.backend.load()  # one copy of the weights, two batch sizes
    single.generate_sync(conversations[0], GenerateConfig(max_tokens=4))  # warm-up
    batched(batch, conversations[:4], GenerateConfig(max_tokens=4))
    runs = []
    for repeat in range(args.repeats):
        # Alternate the order so that load changes on a shared machine hit both alike.
        order = ("one_by_one", "batched") if repeat % 2 == 0 else ("batched", "one_by_one")
        for mode in order:
            seconds, results = (
                one_by_one(single, conversations, config)
                if mode == "one_by_one"
                else batched(batch, conversations, config)
            )
            tokens = sum(r.output_tokens for r in results)
            runs.append(
                {
                    "mode": mode,
                    "seconds": round(seconds, 2),
                    "output_tokens": tokens,
                    "tokens_per_s": round(tokens / seconds, 1),
                    "texts": [r.text for r in results],
                }
            )
            print(f"{mode:>10}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.1f} tok/s")
    best = {
        mode: max(r["tokens_per_s"] for r in runs if r["mode"] == mode)
        for mode in ("one_by_one", "batched")
    }
    same = sum(
        a == b
        for a, b in zip(
            next(r for r in runs if r["mode"] == "one_by_one")["texts"],
            next(r for r in runs if r["mode"] == "batched")["texts"],
            strict=True,
        )
    )
    ratio = best["batched"] / best["one_by_one"]
    print(
        f"batched / one-by-one throughput (best of {args.repeats}): {ratio:.2f}x; "
        f"identical texts {same}/{args.requests}; dtype {batch.backend.dtype}"
    )
    for run in runs:
        del run["texts"]
    path = write_result(
        f"backends_hf_batching_{batch.backend.dtype}",
        {
            "model": args.model,
            "dtype": batch.backend.dtype,
            "requests": args.requests,
            "max_tokens": args.max_tokens,
            "runs": runs,
            "best_tokens_per_s": best,
            "ratio": round(ratio, 2),
            "identical_texts": same,
        },
    )
    print("wrote", path)


if __name__ == "__main__":
    main()

"""Shared-prefix scoring against full scoring: the embedded judge on the dev pairs, both orders,
two principles a pair (and the pointwise default), in one run.

The pairs are judged in blocks; each block is judged once with ``prefix_reuse=false`` and once
with ``prefix_reuse=true`` on the same loaded weights, the two alternating (which goes first
alternates too), so a change in the machine's load during the run falls on both paths alike. The
response cache is off. Reported per mode: pairs/s of each path and their ratio, the tokens each
path ran through the model, the largest difference between the two paths' ``p_response_1`` and
vote log-probabilities, whether any label (which response wins, or a tie) differs, and the
achieved FLOP/s of the reuse path on the tokens it computed, against the bf16 matmul peak
measured in the same run (``2 x non-embedding parameters`` FLOPs a token; attention not counted).
``ceiling_token_ratio`` is the most any prefix reuse could save on the framing: the block's
prompts in full against a tree that shares every common prefix, however short.

    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.bench_prefix_reuse --pairs 24
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks.common import write_result
from rlaif.constitution import load_constitution
from rlaif.data.loaders import load_pairs
from rlaif.judge import PairwiseJudge
from rlaif.models import get_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh_harmless_test_dev.jsonl"


def matmul_peak(dtype: str, seconds: float = 3.0) -> float:
    """FLOP/s of a model-shaped matmul (512 tokens x 1536 -> 8960) in ``dtype``."""
    import torch

    kind = getattr(torch, dtype)
    x = torch.randn(512, 1536, dtype=kind)
    w = torch.randn(8960, 1536, dtype=kind)
    torch.nn.functional.linear(x, w)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.nn.functional.linear(x, w)
        runs += 1
    return 2 * 512 * 1536 * 8960 * runs / (time.perf_counter() - start)


def non_embedding_parameters(model: Any) -> int:
    """Parameters a token's forward pass multiplies by (the input embedding is a lookup; the
    output head runs for the kept positions only)."""
    head = model.get_output_embeddings()
    skip = {id(model.get_input_embeddings().weight), id(head.weight) if head is not None else 0}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def judge_block(judge: PairwiseJudge, pairs: list[Any], concurrency: int) -> tuple[list, float]:
    start = time.perf_counter()
    judgments = asyncio.run(judge.compare_many(pairs, concurrency=concurrency, progress=False))
    return judgments, time.perf_counter() - start


def label(judgment: Any) -> str:
    p = judgment.p_response_1
    return "missing" if p is None else ("1" if p > 0.5 else "2" if p < 0.5 else "tie")


def ceiling_tokens(judge: PairwiseJudge, block: list[Any]) -> tuple[int, int]:
    """Tokens of a block's prompts in full, and in a prefix tree that shares every common
    prefix however short (the most any prefix reuse could save on this framing)."""
    from rlaif.models.local.prefix_scoring import prefix_tree, tree_tokens
    from rlaif.models.providers.hf import render_prompt

    _, tokenizer = judge.model.backend.load()
    texts = set()
    for pair in block:
        principles, orders = judge.plan(pair.prompt, pair.response_1, pair.response_2)
        for principle in principles:
            if not judge.mode.ordered:
                rendered = [
                    judge.render_score(pair.prompt, text, principle)
                    for text in (pair.response_1, pair.response_2)
                ]
            else:
                shown = {"12": (pair.response_1, pair.response_2)}
                shown["21"] = shown["12"][::-1]
                rendered = [judge.render(pair.prompt, *shown[o], principle) for o in orders]
            texts.update(render_prompt(tokenizer, messages) for messages in rendered)
    ids = [tokenizer.encode(text, add_special_tokens=False) for text in sorted(texts)]
    return sum(map(len, ids)), tree_tokens(prefix_tree(ids, keep=1, min_shared=1))


def run_mode(model: Any, args: argparse.Namespace, mode: str, pairs: list[Any]) -> dict[str, Any]:
    backend = model.backend
    constitution = load_constitution(args.constitution)
    judge = PairwiseJudge(model, constitution, mode=mode, principles_per_pair=args.principles)
    seconds = {False: 0.0, True: 0.0}
    computed = {False: 0, True: 0}
    passes = {False: 0, True: 0}
    results: dict[bool, list[Any]] = {False: [], True: []}
    blocks = [pairs[i : i + args.block] for i in range(0, len(pairs), args.block)]
    full_tokens = shared_tokens = 0
    for number, block in enumerate(blocks):
        full, shared = ceiling_tokens(judge, block)
        full_tokens, shared_tokens = full_tokens + full, shared_tokens + shared
        order = (False, True) if number % 2 == 0 else (True, False)
        for reuse in order:
            backend.prefix_reuse = reuse
            before_tokens = backend.scoring.computed_tokens
            before_passes = backend.scoring.forward_passes
            judgments, elapsed = judge_block(judge, block, args.concurrency)
            seconds[reuse] += elapsed
            computed[reuse] += backend.scoring.computed_tokens - before_tokens
            passes[reuse] += backend.scoring.forward_passes - before_passes
            results[reuse].extend(judgments)
        print(
            f"{mode}: block {number + 1}/{len(blocks)} plain {seconds[False]:.0f} s, "
            f"reuse {seconds[True]:.0f} s",
            flush=True,
        )
    p_diffs = [
        abs(a.p_response_1 - b.p_response_1)
        for a, b in zip(results[False], results[True], strict=True)
        if a.p_response_1 is not None and b.p_response_1 is not None
    ]
    logprob_diffs = []
    for a, b in zip(results[False], results[True], strict=True):
        for va, vb in zip(a.votes, b.votes, strict=True):
            if va.raw and vb.raw and va.raw.startswith("{"):
                import json

                la, lb = json.loads(va.raw), json.loads(vb.raw)
                logprob_diffs += [abs(la[k] - lb[k]) for k in la if k in lb]
    labels_differ = sum(
        label(a) != label(b) for a, b in zip(results[False], results[True], strict=True)
    )
    n = len(pairs)
    return {
        "mode": mode,
        "pairs": n,
        "principles_per_pair": args.principles,
        "plain_s": round(seconds[False], 1),
        "reuse_s": round(seconds[True], 1),
        "plain_pairs_per_s": round(n / seconds[False], 4),
        "reuse_pairs_per_s": round(n / seconds[True], 4),
        "speedup": round(seconds[False] / seconds[True], 3),
        "plain_tokens": computed[False],
        "reuse_tokens": computed[True],
        "token_ratio": round(computed[False] / max(computed[True], 1), 3),
        "ceiling_token_ratio": round(full_tokens / max(shared_tokens, 1), 3),
        "plain_forward_passes": passes[False],
        "reuse_forward_passes": passes[True],
        "max_abs_p_diff": max(p_diffs, default=0.0),
        "max_abs_logprob_diff": max(logprob_diffs, default=0.0),
        "labels_differ": labels_differ,
        "missing": sum(j.p_response_1 is None for j in results[True]),
        "_reuse_flops_tokens": computed[True],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="hf/qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--data", default=str(SHARED))
    parser.add_argument("--pairs", type=int, default=24)
    parser.add_argument("--block", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--principles", type=int, default=2)
    parser.add_argument("--constitution", default="cai-harmless")
    parser.add_argument("--modes", default="logprob,pointwise")
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args()

    pairs = load_pairs(args.data)[: args.pairs]
    model = get_model(args.judge, cache=False, dtype=args.dtype)
    lm, _ = model.backend.load()
    parameters = non_embedding_parameters(lm)
    dtype = str(lm.dtype).removeprefix("torch.")
    peak = matmul_peak(dtype)
    rows = []
    for mode in args.modes.split(","):
        row = run_mode(model, args, mode, pairs)
        flop_tokens = row.pop("_reuse_flops_tokens")
        achieved = 2 * parameters * flop_tokens / row["reuse_s"]
        row["reuse_gflops"] = round(achieved / 1e9, 1)
        row[f"{dtype}_matmul_peak_gflops"] = round(peak / 1e9, 1)
        row["fraction_of_peak"] = round(achieved / peak, 3)
        rows.append(row)
        print(row, flush=True)
    path = write_result(
        "prefix_reuse",
        {
            "command": "OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.bench_prefix_reuse "
            f"--pairs {args.pairs} --modes {args.modes}",
            "judge": args.judge,
            "dtype": dtype,
            "non_embedding_parameters": parameters,
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

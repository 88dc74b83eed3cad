"""The embedded 1.5B judge in int8: is its pointwise verdict the fp32 one, and how much faster?

The judge's linear layers are quantized with torch's dynamic int8 quantization (weights int8,
per tensor or per output channel; activations quantized per batch at run time), then the same
requests are scored in fp32 and in int8 in one process, one after the other, through the
project's own backend (response cache off): the pointwise Yes/No questions of ``cai-harmless``
on both replies of the first ``--pairs`` pairs of the hh dev file (tuning data: measured, not
shipped). Reported: both wall times, the time to quantize, the Yes/No log-odds differences and
how many pair verdicts (the sign of ``s(chosen) - s(rejected)``) flip.

    python -m benchmarks.bench_judge_int8 --pairs 16 --weights per-channel
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import write_result
from rlaif.constitution import load_constitution
from rlaif.judge import PairwiseJudge
from rlaif.judge.verdict import SCORE_CHOICES, score_log_odds
from rlaif.models import Model, get_model

JUDGE = "hf/qwen2.5-coder-1.5b-instruct"
DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh_harmless_test_dev.jsonl"


def requests(pairs: int) -> list[list[dict[str, str]]]:
    """Both replies' pointwise requests for the first ``pairs`` dev pairs (chosen first)."""
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()[:pairs]]
    judge = PairwiseJudge(get_model(JUDGE), load_constitution("cai-harmless"), mode="pointwise")
    rendered = []
    for row in rows:
        principles, _ = judge.plan(row["prompt"], row["chosen"], row["rejected"])
        for reply in (row["chosen"], row["rejected"]):
            rendered.append(judge.render_score(row["prompt"], reply, principles[0]))
    return rendered


async def scored(model: Model, batch: list[list[dict[str, str]]]) -> list[float | None]:
    prefilled = batch[0][-1]["role"] == "assistant"
    choices = list(SCORE_CHOICES) if prefilled else [c.strip() for c in SCORE_CHOICES]
    answers = await asyncio.gather(*(model.score_choices(m, choices) for m in batch))
    return [score_log_odds(a.logprobs, *choices) for a in answers]


def timed(model: Model, batch: list[list[dict[str, str]]]) -> tuple[list[float | None], float]:
    start = time.perf_counter()
    scores = asyncio.run(scored(model, batch))
    return scores, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--weights", choices=["per-tensor", "per-channel"], default="per-channel")
    args = parser.parse_args()
    batch = requests(args.pairs)
    fp32 = get_model(JUDGE, cache=False)
    base, fp32_s = timed(fp32, batch)
    asyncio.run(fp32.aclose())  # one 1.5B model in memory at a time (two and a copy: 24 GiB)
    del fp32
    gc.collect()
    int8 = get_model(JUDGE, cache=False)
    model, tokenizer = int8.backend.load()  # type: ignore[attr-defined]
    qconfig: Any = (
        torch.ao.quantization.per_channel_dynamic_qconfig
        if args.weights == "per-channel"
        else torch.ao.quantization.default_dynamic_qconfig
    )
    start = time.perf_counter()
    quantized = torch.ao.quantization.quantize_dynamic(
        model, {torch.nn.Linear: qconfig}, dtype=torch.qint8
    )
    quantize_s = time.perf_counter() - start
    int8.backend._loaded = (quantized, tokenizer)  # type: ignore[attr-defined]
    quant, int8_s = timed(int8, batch)
    differences = [
        abs(a - b) for a, b in zip(base, quant, strict=True) if a is not None and b is not None
    ]
    margins = []
    for i in range(args.pairs):
        a, b = base[2 * i], quant[2 * i]
        c, d = base[2 * i + 1], quant[2 * i + 1]
        if None not in (a, b, c, d):
            margins.append((a - c, b - d))  # type: ignore[operator]
    flips = sum((fp > 0) != (q > 0) for fp, q in margins)
    result = {
        "command": "python -m benchmarks.bench_judge_int8 "
        f"--pairs {args.pairs} --weights {args.weights}",
        "requests": len(batch),
        "fp32_seconds": round(fp32_s, 1),
        "int8_seconds": round(int8_s, 1),
        "quantize_seconds": round(quantize_s, 1),
        "speed_up": round(fp32_s / int8_s, 2),
        "log_odds_abs_difference": {
            "mean": round(sum(differences) / len(differences), 3),
            "max": round(max(differences), 3),
        },
        "pair_verdict_flips": flips,
        "pairs_compared": len(margins),
        "margins_fp32_int8": [[round(a, 3), round(b, 3)] for a, b in margins],
    }
    print(json.dumps(result, indent=2))
    write_result(f"judge_int8_{args.weights}", result)


if __name__ == "__main__":
    main()

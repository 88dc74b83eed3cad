"""PPO's training pass, packed rows against the padded batch, interleaved in one process.

    python benchmarks/bench_packing.py [--batches 5] [--repeats 6]

The PPO benchmark (bench_ppo.py) times whole steps in separate processes, one after another; on a
shared 2-core virtual machine its step times drift by 10-20% between runs, as much as the change
measured here. This one times the update's unit of work, a forward and backward pass of the
policy with its value head (``PolicyAndValue``) and PPO's per-token log-probabilities, on the
same batches as bench_ppo.py (the first prompts of the quickstart's PPO prompts, 8 to a batch,
each followed by a 32-token response), alternating packed and padded passes so that drift hits
both alike. Reported per batch: the median seconds of each, their ratio, the tokens each
computes, and the largest difference between their log-probabilities.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def batches(tokenizer: Any, count: int, size: int, response_length: int) -> list[Any]:
    """``count`` left-padded batches of ``size`` prompts with random responses (ids, mask)."""
    import torch

    from rlaif.data.jsonl import iter_rows

    files = ("red_team_train.jsonl", "benign_train.jsonl")
    rows = [row for name in files for _, row in iter_rows(REPO / "eval/prompts" / name)]
    generator = torch.Generator().manual_seed(0)
    result = []
    for start in range(0, count * size, size):
        prompts = []
        for row in rows[start : start + size]:
            prompt = row["prompt"]
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
            prompts.append(list(ids if isinstance(ids, list) else ids["input_ids"]))
        width = max(len(p) for p in prompts)
        ids = torch.full((size, width + response_length), tokenizer.pad_token_id)
        mask = torch.zeros_like(ids)
        for i, prompt in enumerate(prompts):
            ids[i, width - len(prompt) : width] = torch.tensor(prompt)
            mask[i, width - len(prompt) :] = 1
        ids[:, width:] = torch.randint(100, 20_000, (size, response_length), generator=generator)
        result.append((ids, mask))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--response-length", type=int, default=32)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import torch

    import rlaif.train.packing as packing
    from benchmarks.common import machine_info
    from rlaif.models.local.loading import resolve
    from rlaif.train.loading import load_tokenizer, load_training_lm
    from rlaif.train.ppo_model import PolicyAndValue

    source = resolve("smollm2-135m-instruct").location
    tokenizer = load_tokenizer(source, padding_side="left")
    model = PolicyAndValue(load_training_lm(source, tokenizer, dtype="float32"))
    width = args.response_length
    implementations = packing.MASKED_ATTENTION

    def one_pass(ids: Any, mask: Any, packed: bool) -> tuple[float, Any]:
        packing.MASKED_ATTENTION = implementations if packed else ()
        model.zero_grad()
        clock = time.perf_counter()
        logits, values = model(ids, mask, width)
        logprobs = torch.log_softmax(logits.float(), -1).gather(2, ids[:, -width:, None])[..., 0]
        loss = -(logprobs * mask[:, -width:]).sum() / mask[:, -width:].sum()
        (loss + values.pow(2).mean()).backward()
        return time.perf_counter() - clock, logprobs.detach()

    rows = []
    for index, (ids, mask) in enumerate(batches(tokenizer, args.batches, args.batch_size, width)):
        seconds: dict[bool, list[float]] = {True: [], False: []}
        one_pass(ids, mask, True)  # warm-up
        for repeat in range(args.repeats):
            for packed in (True, False) if repeat % 2 == 0 else (False, True):
                spent, _ = one_pass(ids, mask, packed)
                seconds[packed].append(spent)
        _, packed_logprobs = one_pass(ids, mask, True)
        _, padded_logprobs = one_pass(ids, mask, False)
        shared = len(packing.Packing.of(ids, mask, width + 1).prefix)
        real = int(mask.sum())
        row = {
            "batch": index,
            "padded_tokens": ids.numel(),
            "packed_tokens": real - (args.batch_size - 1) * shared,
            "shared_prefix": shared,
            "padded_seconds": round(statistics.median(seconds[False]), 3),
            "packed_seconds": round(statistics.median(seconds[True]), 3),
            "max_logprob_difference": float((packed_logprobs - padded_logprobs).abs().max()),
        }
        row["speed-up"] = round(row["padded_seconds"] / row["packed_seconds"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    total_padded = sum(r["padded_seconds"] for r in rows)
    total_packed = sum(r["packed_seconds"] for r in rows)
    report = {
        "command": "python benchmarks/bench_packing.py " + " ".join(sys.argv[1:]),
        "machine": machine_info(),
        "settings": vars(args),
        "batches": rows,
        "speed-up over all batches": round(total_padded / total_packed, 2),
    }
    target = REPO / "benchmarks" / "results" / "packing.json"
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("speed-up over all batches",)}))


if __name__ == "__main__":
    main()

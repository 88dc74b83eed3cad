"""Two savings in CPU training, each against its baseline in the same run (issue 28).

``head``: DPO or SFT steps with TRL's fused LM head projecting every position (TRL's path on a
CPU) and only the labelled ones (:mod:`rlaif.train.fused_head`), alternating which goes first;
the same model, data and seed, so the losses must match.

    .venv/bin/python -m benchmarks.bench_cpu_training head --algorithm dpo \\
        --model runs/quickstart/sft/model --data runs/quickstart/label/preferences.jsonl
    .venv/bin/python -m benchmarks.bench_cpu_training head --algorithm sft \\
        --model hf/smollm2-135m-instruct --data runs/quickstart/critique/sft.jsonl

``padding``: tokens an SFT epoch computes when batches are padded to their longest example,
with random batches and with :mod:`rlaif.train.sampling`'s length-grouped ones, on a
critique stage's records (no model is run: the count is exact).

    .venv/bin/python -m benchmarks.bench_cpu_training padding \\
        --data runs/quickstart/critique/sft.jsonl --model hf/smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _steps(
    algorithm: str, model: str, data: Path, out: Path, *, compact: bool, steps: int
) -> dict[str, Any]:
    """Train ``steps`` steps of 8 pairs (DPO) or records (SFT) as the quickstart does, and time
    every step after the first."""
    from transformers import TrainerCallback

    from rlaif.train.dpo import train_dpo
    from rlaif.train.sft import train_sft

    class Clock(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.started = 0.0
            self.seconds: list[float] = []

        def on_step_begin(self, *args: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            self.seconds.append(time.perf_counter() - self.started)

    clock = Clock()
    train = train_dpo if algorithm == "dpo" else train_sft
    run = train if compact else train.__wrapped__  # type: ignore[attr-defined]
    config: dict[str, Any] = {
        "model": model,
        "dataset": str(data),
        "output_dir": str(out),
        "max_steps": steps,
        "per_device_train_batch_size": 8,
        "max_length": 256,
        "logging_steps": 1,
    }
    config.update(
        {"learning_rate": 6e-6, "beta": 0.1} if algorithm == "dpo" else {"learning_rate": 4e-5}
    )
    result = run(config, callbacks=[clock])
    history = [json.loads(line) for line in (result.output_dir / "log_history.jsonl").open()]
    return {
        "step_seconds": clock.seconds[1:],
        "losses": [row["loss"] for row in history if "loss" in row],
        "grad_norms": [row["grad_norm"] for row in history if "grad_norm" in row],
    }


def head(args: argparse.Namespace) -> dict[str, Any]:
    """Both heads, ``args.repeats`` times each, alternating which runs first."""
    runs: dict[str, list[dict[str, Any]]] = {"every position": [], "labelled only": []}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            order = [False, True] if repeat % 2 == 0 else [True, False]
            for compact in order:
                name = "labelled only" if compact else "every position"
                out = Path(scratch) / f"{repeat}-{int(compact)}"
                done = _steps(
                    args.algorithm, args.model, args.data, out, compact=compact, steps=args.steps
                )
                runs[name].append(done)
    means = {
        name: float(np.mean([s for run in done for s in run["step_seconds"]]))
        for name, done in runs.items()
    }
    summary = {
        "algorithm": args.algorithm,
        "seconds_a_step": means,
        "ratio": means["every position"] / means["labelled only"],
        "same_losses": all(
            np.allclose(a["losses"], b["losses"], rtol=1e-4)
            and np.allclose(a["grad_norms"], b["grad_norms"], rtol=1e-3)
            for a, b in zip(runs["every position"], runs["labelled only"], strict=True)
        ),
        "runs": runs,
    }
    print(
        f"{args.algorithm.upper()} step: every position {means['every position']:.1f} s, "
        f"labelled only {means['labelled only']:.1f} s: {summary['ratio']:.2f}x; "
        f"same losses and gradient norms: {summary['same_losses']}"
    )
    return summary


def padding(args: argparse.Namespace) -> dict[str, Any]:
    """Padded tokens of an epoch, random batches against length-grouped ones, over seeds."""
    from rlaif.train.loading import load_tokenizer
    from rlaif.train.sampling import length_grouped_order, padded_tokens

    tokenizer = load_tokenizer(args.model)
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")]
    texts = [tokenizer.apply_chat_template(row["messages"], tokenize=False) for row in rows]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    real = sum(lengths)
    shuffled, grouped = [], []
    for seed in range(args.repeats):
        order = np.random.default_rng(seed).permutation(len(lengths)).tolist()
        shuffled.append(padded_tokens(lengths, order, args.batch_size))
        grouped.append(
            padded_tokens(
                lengths, length_grouped_order(lengths, args.batch_size, seed=seed), args.batch_size
            )
        )
    summary = {
        "examples": len(lengths),
        "mean_length": real / len(lengths),
        "real_tokens": real,
        "padded_random": float(np.mean(shuffled)),
        "padded_grouped": float(np.mean(grouped)),
        "padding_share_random": 1 - real / float(np.mean(shuffled)),
        "padding_share_grouped": 1 - real / float(np.mean(grouped)),
        "ratio": float(np.mean(shuffled)) / float(np.mean(grouped)),
    }
    print(
        f"{len(lengths)} examples, {summary['mean_length']:.1f} tokens on average: padding "
        f"{summary['padding_share_random']:.1%} of an epoch in random batches of "
        f"{args.batch_size}, {summary['padding_share_grouped']:.1%} length-grouped; "
        f"{summary['ratio']:.3f}x fewer tokens"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    heads = commands.add_parser("head", help="training steps with both fused-head paths")
    heads.add_argument("--algorithm", choices=("dpo", "sft"), default="dpo")
    heads.add_argument("--model", required=True, help="the policy to train")
    heads.add_argument("--data", type=Path, required=True, help="pairs (DPO) or records (SFT)")
    heads.add_argument("--steps", type=int, default=3, help="steps a run (the first not timed)")
    heads.add_argument("--repeats", type=int, default=2)
    heads.add_argument("--out", type=Path, help="default: benchmarks/results/cpu_<algo>_head.json")
    pad = commands.add_parser("padding", help="SFT padding, random against grouped batches")
    pad.add_argument("--data", type=Path, required=True, help="SFT records (critique output)")
    pad.add_argument("--model", default="hf/smollm2-135m-instruct", help="whose tokenizer")
    pad.add_argument("--batch-size", type=int, default=8)
    pad.add_argument("--repeats", type=int, default=20, help="seeds averaged")
    pad.add_argument("--out", type=Path, default=Path("benchmarks/results/cpu_sft_padding.json"))
    args = parser.parse_args()
    summary = head(args) if args.command == "head" else padding(args)
    if args.out is None:
        args.out = Path(f"benchmarks/results/cpu_{args.algorithm}_head.json")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""The baseline of ``bench_train.py``: the same reward-model run written directly against TRL, the
way its documentation and examples do it (no rlaif code).

    python benchmarks/bench_train_plain.py rm  --model DIR --data FILE --out DIR --steps N ...

Each run writes ``step_seconds.json`` (the wall time of every optimizer step, measured from one
``on_step_end`` to the next, as rlaif's own runs measure it) in its output folder.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


class StepTimes(TrainerCallback):
    """Wall and process CPU time between consecutive step ends (the first from train begin)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.last = (0.0, 0.0)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.last = (time.perf_counter(), time.process_time())

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall.append(now[0] - self.last[0])
        self.cpu.append(now[1] - self.last[1])
        self.last = now


def _read_jsonl(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run_rm(args: argparse.Namespace) -> StepTimes:
    """TRL's RewardTrainer on conversational prompt/chosen/rejected pairs."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    rows = _read_jsonl(args.data)
    dataset = Dataset.from_dict({k: [r[k] for r in rows] for k in ("prompt", "chosen", "rejected")})
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=1)
    config = RewardConfig(
        output_dir=args.out,
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=1e-5,
        max_length=args.max_length,
        bf16=False,
        gradient_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
    )
    timer = StepTimes()
    trainer = RewardTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[timer],
    )
    trainer.train()
    return timer


def main() -> None:
    """Parse arguments, run, write the step times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("algorithm", choices=["rm"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--data", help="preference pairs (rm)")
    args = parser.parse_args()
    timer = run_rm(args)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    times = {"wall": timer.wall, "cpu": timer.cpu}
    (Path(args.out) / "step_seconds.json").write_text(json.dumps(times), encoding="utf-8")


if __name__ == "__main__":
    main()

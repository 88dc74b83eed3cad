"""Judge–human agreement of the embedded model, ``logprob`` and ``generate`` modes, with baselines.

Runs ``rlaif eval agreement`` on the human-labelled pairs of ``../shared/data/`` (all 600, or a
seeded random subset with ``--pairs N``), prints the command, the machine and the leaderboard,
and writes ``benchmarks/results/agreement.json`` beside the full report (``--out``).

    .venv/bin/python benchmarks/bench_agreement.py [--pairs 600] [--judge hf/smollm2-135m-instruct]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("RLAIF_SHARED_DATA", REPO.parent / "shared" / "data"))

COLUMNS = (
    "accuracy",
    "kappa",
    "consistency",
    "first_position_rate",
    "prefer_longer_rate",
    "missing_rate",
)


def main() -> None:
    from benchmarks.common import machine_info, write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=600, help="pairs (seeded random subset)")
    parser.add_argument("--judge", default="hf/smollm2-135m-instruct")
    parser.add_argument("--modes", default="logprob,generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "bench-agreement")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)"
    )
    args = parser.parse_args()

    command = [
        str(REPO / ".venv" / "bin" / "rlaif"),
        "eval",
        "agreement",
        "--judge",
        args.judge,
        "--data",
        str(DATA / "hh_harmless_test_dev.jsonl"),
        "--seed",
        str(args.seed),
        "--out",
        str(args.out),
    ]
    for mode in args.modes.split(","):
        command += ["--mode", mode]
    if args.pairs < 600:
        command += ["--limit", str(args.pairs)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    print("command:", f"OMP_NUM_THREADS={args.threads}", shlex.join(command))
    print("machine:", json.dumps(machine_info()))
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    seconds = time.perf_counter() - start
    metrics = json.loads((args.out / "metrics.json").read_text(encoding="utf-8"))
    rows = {}
    for name, row in metrics["results"].items():
        rows[name] = {key: row.get(key) for key in COLUMNS}
        rows[name]["seconds_per_1000"] = row.get("seconds_per_1000")
    for name, row in rows.items():
        cells = []
        for key in COLUMNS:
            value = row[key]
            if value is None or value.get("value") is None:
                cells.append(f"{key}=n/a")
            else:
                cells.append(
                    f"{key}={value['value']:.3f} [{value['low']:.3f}, {value['high']:.3f}]"
                )
        print(f"{name}: " + "; ".join(cells))
    path = write_result(
        "agreement",
        {
            "command": f"OMP_NUM_THREADS={args.threads} " + shlex.join(command),
            "pairs": metrics["n_pairs"],
            "wall_seconds": round(seconds, 1),
            "best_trivial_baseline": metrics["best_trivial_baseline"],
            "rows": rows,
            "report": str(args.out / "report.html"),
        },
    )
    print(f"wrote {path} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()

"""The reliability targets measured through the CLI a user runs: ``rlaif label`` (a subprocess,
``python -m rlaif``) on generated pairs against the project's fault-injecting OpenAI-compatible
server (``tests/fault_server.py``: 429 with Retry-After, 500, resets, stalls past the client
timeout, truncated/HTML/bare-string 200s, empty choices), with the API key a canary.

Four runs, each with its own response cache:

1. ``reference``: no faults.
2. ``faults``: a share of the distinct requests fails on its first attempt.
3. ``faults + kill -9``: the same faults, and the CLI process killed with SIGKILL at three request
   numbers, then rerun until it finishes.
4. ``401 echoing the key``: every request refused with a message that contains the key.

It reports, against the reference: pairs lost (in neither the labelled nor the skipped file),
labels changed (the labelled and skipped files not byte-identical), requests paid twice (the
server's count of successful answers per distinct request), the manifest's paid calls against
the server's, and occurrences of the key in any file written or anything printed.

    .venv/bin/python -m benchmarks.bench_faults                  # 300 pairs
    .venv/bin/python -m benchmarks.bench_faults --pairs 60 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from fault_server import CANARY_KEY, FaultPlan, write_pairs  # noqa: E402
from support.scripted_server import Reply  # noqa: E402

OUTPUTS = ("prefs.jsonl", "prefs.skipped.jsonl")
RESULTS = Path(__file__).resolve().parent / "results" / "faults_cli.json"


def _label_command(pairs: Path, out: Path) -> list[str]:
    options = {
        "timeout_s": 1.0,
        "max_retries": 6,
        "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.1,
        "max_concurrency": 4,
    }
    command = [sys.executable, "-m", "rlaif", "label", "--constitution", "cai-harmless"]
    command += ["--judge", "openai/judge", "--mode", "logprob", "--principles-per-pair", "2"]
    command += ["--pairs", str(pairs), "--out", str(out), "--no-progress"]
    for key, value in options.items():
        command += ["--judge-option", f"{key}={value}"]
    return command


def _run(
    plan: FaultPlan, pairs: Path, folder: Path, *, kill_runs: int = 0
) -> tuple[Any, list[str], int]:
    """Label ``pairs`` into ``folder`` against a server following ``plan``; returns the
    server, everything printed and how many runs it took."""
    folder.mkdir(parents=True)
    printed: list[str] = []
    runs = 0
    with plan.server() as server:
        env = {
            **os.environ,
            "OPENAI_API_KEY": CANARY_KEY,
            "OPENAI_BASE_URL": server.url,
            "RLAIF_CACHE_DIR": str(folder / "cache"),
        }
        while True:
            runs += 1
            process = subprocess.Popen(
                _label_command(pairs, folder / "prefs.jsonl"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            plan.pid = process.pid
            out, err = process.communicate(timeout=900)
            printed += [out.decode(), err.decode()]
            if process.returncode != -9 or runs > kill_runs + 1:
                break
    return server, printed, runs


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _canary_hits(folder: Path, printed: list[str]) -> int:
    files = sum(
        path.read_bytes().count(CANARY_KEY.encode()) for path in folder.rglob("*") if path.is_file()
    )
    return files + sum(text.count(CANARY_KEY) for text in printed)


def _row(
    name: str,
    folder: Path,
    reference: Path,
    ids: set[str],
    server: Any,
    plan: FaultPlan,
    printed: list[str],
    runs: int,
    seconds: float,
) -> dict[str, Any]:
    labelled = _rows(folder / "prefs.jsonl")
    skipped = _rows(folder / "prefs.skipped.jsonl")
    seen = {row["id"] for row in labelled} | {row["id"] for row in skipped}
    manifest = folder / "prefs.manifest.json"
    usage = json.loads(manifest.read_text())["usage"] if manifest.exists() else {}
    return {
        "run": name,
        "runs": runs,
        "seconds": round(seconds, 1),
        "faults_injected": sum(plan.injected.values()),
        "kills": plan.kills,
        "lost": len(ids - seen),
        "outputs_identical_to_reference": all(
            (folder / f).exists() and (folder / f).read_bytes() == (reference / f).read_bytes()
            for f in OUTPUTS
        ),
        "labelled": len(labelled),
        "skipped": len(skipped),
        "server_paid": sum(server.paid.values()),
        "distinct_requests": len(server.paid),
        "paid_twice": server.paid_twice,
        "manifest_paid": usage.get("calls", 0) - usage.get("cache_hits", 0),
        "manifest_in_flight_when_killed": usage.get("in_flight_when_killed", 0),
        "canary_occurrences": _canary_hits(folder, printed),
        "exit_line": next(
            (line for text in printed for line in text.splitlines() if line.startswith("error")),
            None,
        ),
    }


def main() -> None:
    """Run the four runs, print the table and write ``benchmarks/results/faults_cli.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--fault-share", type=float, default=0.3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    requests = args.pairs * 2 * 2  # two principles, both orders
    kill_at = (requests // 5, requests // 2, (4 * requests) // 5)
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        pairs = root / "pairs.jsonl"
        ids = set(write_pairs(pairs, args.pairs))
        reference = root / "reference"
        plans = {
            "reference": (FaultPlan(), 0),
            "faults": (FaultPlan(fault_share=args.fault_share), 0),
            "faults + kill -9 at 3 points": (
                FaultPlan(fault_share=args.fault_share, kill_at=kill_at),
                3,
            ),
            "401 echoing the key": (
                FaultPlan(
                    always=lambda _: Reply(
                        401,
                        message=f"Incorrect API key provided: {CANARY_KEY}. "
                        f"Header: Bearer {CANARY_KEY}",
                    )
                ),
                0,
            ),
        }
        for index, (name, (plan, kill_runs)) in enumerate(plans.items()):
            folder = root / f"run{index}"
            started = time.perf_counter()
            server, printed, runs = _run(plan, pairs, folder, kill_runs=kill_runs)
            seconds = time.perf_counter() - started
            if name == "reference":
                folder.rename(reference)
                folder = reference
            rows.append(_row(name, folder, reference, ids, server, plan, printed, runs, seconds))
            print(json.dumps(rows[-1]))
    result = {
        "command": f"python -m benchmarks.bench_faults --pairs {args.pairs} "
        f"--fault-share {args.fault_share}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "pairs": args.pairs,
        "requests_per_run": requests,
        "kill_at_request": list(kill_at),
        "rows": rows,
    }
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

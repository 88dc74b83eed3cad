"""``rlaif label`` from the command line against an OpenAI-compatible server with a fixed 200 ms
latency, run in its own process: calls/s at 64 in flight against the bound ``64 / 0.2 s``.

The judge is ``openai/bench`` in ``logprob`` mode (both orders, one principle: two calls a pair)
with the response cache on in a fresh folder, as a user would run it. The rate is taken between
the first request the server saw and its last answer (the command's start-up, about two seconds
of imports, is reported apart).

    .venv/bin/python -m benchmarks.bench_cli_concurrency --pairs 2000 [--baseline ../old-checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_result

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))  # the test servers (tests/support/, not shipped in the wheel)

from support.scripted_server import server_process, write_pairs  # noqa: E402

# A/B for the comparisons; Yes/No for cai-harmless's request check (P(safe) 0.2: both sides asked).
LOGPROBS = json.dumps({"A": -0.3, "B": -1.4, "Yes": -1.6, "No": -0.2})
CALLS_PER_PAIR = 1 + 2 * 2
"""The request check, then both orders under one principle a side."""


def run(pairs: int, concurrency: int, latency_s: float, source: str | None = None) -> dict:
    serving = server_process(
        "support.scripted_server", "--latency", str(latency_s), "--logprobs", LOGPROBS
    )
    with serving as (url, server), tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        write_pairs(work / "pairs.jsonl", pairs)
        command = [
            sys.executable,
            "-m",
            "rlaif",
            "label",
            "--constitution",
            "cai-harmless",
            "--judge",
            "openai/bench",
            "--judge-option",
            f"base_url={url}",
            "--judge-option",
            f"max_concurrency={concurrency}",
            "--concurrency",
            str(concurrency),
            "--mode",
            "logprob",
            "--principles-per-pair",
            "1",
            "--pairs",
            str(work / "pairs.jsonl"),
            "--out",
            str(work / "prefs.jsonl"),
            "--no-progress",
        ]
        env = dict(os.environ, RLAIF_CACHE_DIR=str(work / "cache"), OPENAI_API_KEY="sk-bench")
        if source:  # another checkout's code (the baseline), with this one's environment
            env["PYTHONPATH"] = source
        start = time.time()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.time() - start
        assert server.stdin is not None and server.stdout is not None
        server.stdin.close()  # the server prints its statistics and stops
        stats = json.loads(server.stdout.readline())
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    window = stats["last_answer"] - stats["first_request"]
    rate = stats["requests"] / window
    bound = concurrency / latency_s
    return {
        "code": source or "this checkout",
        "pairs": pairs,
        "concurrency": concurrency,
        "latency_s": latency_s,
        "calls": stats["requests"],
        "every_pair_judged": stats["requests"] == CALLS_PER_PAIR * pairs,
        "peak_in_flight": stats["peak_in_flight"],
        "start_up_s": round(stats["first_request"] - start, 2),
        "wall_s": round(wall, 2),
        "calls_per_s": round(rate, 1),
        "bound_calls_per_s": bound,
        "fraction_of_bound": round(rate / bound, 3),
        "calls_per_s_with_start_up": round(stats["requests"] / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--baseline",
        default=None,
        help="a checkout of the code to compare with (e.g. a git worktree of an older commit); "
        "its runs alternate with this checkout's",
    )
    args = parser.parse_args()
    rows = []
    for _ in range(args.repeats):
        for source in [None, args.baseline] if args.baseline else [None]:
            rows.append(run(args.pairs, args.concurrency, args.latency, source))
    for row in rows:
        print(row, flush=True)
    path = write_result(
        "cli_concurrency",
        {
            "command": ".venv/bin/python -m benchmarks.bench_cli_concurrency "
            f"--pairs {args.pairs} --concurrency {args.concurrency}"
            + (f" --baseline {args.baseline}" if args.baseline else ""),
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""The batch path across a kill -9: ``rlaif label --batch`` on generated pairs against the local
fake of the OpenAI Batch API (in its own process), killed with SIGKILL while it polls, then run
again. Checks that every pair is labelled (0 lost), that no request went into two batches (0
submitted twice: the rerun found its batch in ``prefs.batch.json``) and that the cost in the
manifest is the batch price of the tokens used (half the synchronous price). The steps are
:mod:`support.batch_check` (``tests/support/batch_check.py``) (the tests run a smaller version).

    .venv/bin/python -m benchmarks.bench_batch            # 1000 pairs
    .venv/bin/python -m benchmarks.bench_batch --pairs 50 --delay 2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))  # the test servers (tests/support/, not shipped in the wheel)

from support.batch_check import (  # noqa: E402
    check,
    fake_process,
    fake_stats,
    kill_while_polling,
    rerun,
    write_pairs,
)


def main() -> None:
    """Run the check and write ``benchmarks/results/batch_kill9.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=8.0, help="seconds the fake takes")
    parser.add_argument("--poll", type=float, default=0.5, help="first poll interval")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary, fake_process(args.delay) as root:
        folder = Path(temporary)
        ids = write_pairs(folder / "pairs.jsonl", args.pairs)
        killed_after = kill_while_polling(folder, f"{root}/v1", args.poll)
        rerun_s, _ = rerun(folder, f"{root}/v1", args.poll)
        result = {
            **check(folder, ids, fake_stats(root)),
            "killed_after_s": round(killed_after, 2),
            "rerun_s": round(rerun_s, 2),
            "fake_delay_s": args.delay,
        }
    ok = (
        result["lost"] == 0
        and result["failed"] == 0
        and result["submitted_twice"] == 0
        # Two batches: the request checks, then the comparisons their answers call for.
        and result["batches_created"] == 2
        and result["cost_ratio"] == 0.5
        and not result["files_with_key"]
    )
    result["target_met"] = ok
    print(json.dumps(result, indent=2))
    if not args.no_write:
        from benchmarks.common import write_result

        print(write_result("batch_kill9", result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""The kill -9 check of the batch path, shared by the tests and ``benchmarks/bench_batch.py``:
``rlaif label --batch`` (the real command line, in its own process) on generated pairs against the
batch fake (:mod:`support.batch_fake`), killed with SIGKILL once its batch is recorded as
submitted (it is then polling), run again, and checked: pairs lost, requests in two batches,
synchronous calls, cost against the synchronous price of the same tokens, files holding the key.
Standard library only."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support import scripted_server as testing

PRICE_IN, PRICE_OUT = 0.15, 0.60
"""Synchronous US dollars per million input and output tokens given to the judge."""
FAKE_KEY = "sk-bench-batch-not-a-real-key"


def write_pairs(path: Path, count: int) -> list[str]:
    """``count`` distinct pairs in ``path``; their ids."""
    return testing.write_pairs(path, count, prefix="pair-")


@contextlib.contextmanager
def fake_process(delay_s: float) -> Iterator[str]:
    """The batch fake in its own process; yields its root URL."""
    with testing.server_process("support.batch_fake", "--delay", str(delay_s)) as started:
        yield started[0]


def fake_stats(root: str) -> dict[str, Any]:
    """What the fake saw (``GET /_stats``)."""
    with urllib.request.urlopen(f"{root}/_stats", timeout=10) as response:
        stats: dict[str, Any] = json.load(response)
    return stats


def label_command(folder: Path, url: str, poll_s: float) -> list[str]:
    """``rlaif label --batch`` of ``folder/pairs.jsonl`` by a judge at ``url``."""
    options = {
        "base_url": url,
        "api_key_env": "BENCH_BATCH_KEY",
        "price_input_per_million": PRICE_IN,
        "price_output_per_million": PRICE_OUT,
        "batch_poll_s": poll_s,
    }
    command = [sys.executable, "-m", "rlaif", "label", "--constitution", "cai-harmless"]
    command += ["--judge", "openai/bench-judge", "--mode", "logprob", "--batch"]
    command += ["--principles-per-pair", "1", "--no-progress"]
    command += ["--pairs", str(folder / "pairs.jsonl"), "--out", str(folder / "prefs.jsonl")]
    for key, value in options.items():
        command += ["--judge-option", f"{key}={value}"]
    return command


def _environment(folder: Path) -> dict[str, str]:
    return {**os.environ, "RLAIF_CACHE_DIR": str(folder / "cache"), "BENCH_BATCH_KEY": FAKE_KEY}


def kill_while_polling(folder: Path, url: str, poll_s: float, timeout_s: float = 120) -> float:
    """Start the labelling, SIGKILL it once its batch is recorded as submitted (it is then
    polling); returns the seconds it ran."""
    state = folder / "prefs.batch.json"
    start = time.perf_counter()
    process = subprocess.Popen(
        label_command(folder, url, poll_s),
        env=_environment(folder),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - start < timeout_s:
            if state.exists() and '"submitted"' in state.read_text():
                time.sleep(2 * poll_s)  # well inside the poll loop
                break
            if process.poll() is not None:
                raise RuntimeError(f"the labelling ended (status {process.returncode}) unkilled")
            time.sleep(0.05)
        else:
            raise RuntimeError("no batch was submitted in time")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    return time.perf_counter() - start


def rerun(folder: Path, url: str, poll_s: float) -> tuple[float, str]:
    """Run the labelling to the end; its seconds and stderr."""
    start = time.perf_counter()
    finished = subprocess.run(
        label_command(folder, url, poll_s),
        env=_environment(folder),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"the rerun failed ({finished.returncode}): {finished.stderr[-2000:]}")
    return time.perf_counter() - start, finished.stderr


def check(folder: Path, ids: list[str], stats: dict[str, Any]) -> dict[str, Any]:
    """The figures the target names, read from the output files and the fake's record."""
    written: dict[str, str] = {}
    for name in ("prefs.jsonl", "prefs.skipped.jsonl"):
        path = folder / name
        if path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                written[row["id"]] = row.get("reason", "labelled")
    failed = [i for i, reason in written.items() if reason.startswith("failed")]
    usage = json.loads((folder / "prefs.manifest.json").read_text())["usage"]
    sync_cost = (usage["input_tokens"] * PRICE_IN + usage["output_tokens"] * PRICE_OUT) / 1e6
    leaked = [p.name for p in folder.iterdir() if p.is_file() and FAKE_KEY in p.read_text()]
    return {
        "pairs": len(ids),
        "lost": len(set(ids) - set(written)),
        "failed": len(failed),
        "batches_created": len(stats["creations"]),
        "requests_submitted": sum(len(c["custom_ids"]) for c in stats["creations"]),
        "submitted_twice": stats["submitted_twice"],
        "sync_requests": stats["sync_requests"],
        "cost_usd": round(usage["cost_usd"], 6),
        "cost_at_sync_prices_usd": round(sync_cost, 6),
        "cost_ratio": round(usage["cost_usd"] / sync_cost, 4) if sync_cost else None,
        "files_with_key": leaked,
    }

"""Labelling throughput: ``logprob`` vs ``generate`` judge mode, response cache cold and warm.

Judges N human-labelled pairs from ``../shared/data/`` (both orders, one principle per pair by
default) with the embedded model and reports pairs per second for each mode with an empty cache
(cold) and with the cache filled by the cold run (warm), the logprob/generate ratio and the
warm/cold ratio, all measured in this run. Agreement with the human label and the share of pairs
whose two orders agree are printed too, as context (a 135M model is not a useful judge).

    .venv/bin/python benchmarks/bench_labelling.py [--pairs 100] [--judge M] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("RLAIF_SHARED_DATA", REPO.parent / "shared" / "data"))


def _subset(source: Path, count: int, folder: Path) -> Path:
    """The first ``count`` human-labelled pairs, as a pairs file in random order."""
    from rlaif.data import load_pairs

    pairs = load_pairs(source)[:count]
    path = folder / "pairs.jsonl"
    path.write_text("".join(p.model_dump_json() + "\n" for p in pairs), encoding="utf-8")
    return path


def _agreement(out: Path, pairs: Path) -> float | None:
    """Share of labelled pairs whose chosen response is the human's choice."""
    human = {}
    for line in pairs.read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        preferred = (
            pair["response_1"] if pair["metadata"]["human_preferred"] == 1 else pair["response_2"]
        )
        human[pair["id"]] = preferred
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    if not records:
        return None
    return sum(r["chosen"][0]["content"] == human[r["id"]] for r in records) / len(records)


def _run(mode: str, args: argparse.Namespace, pairs: Path, folder: Path, model: Any) -> dict:
    from rlaif.datagen import LabelOptions, run_labelling

    out = folder / f"{mode}.jsonl"
    options = LabelOptions(
        constitution=args.constitution,
        judge=args.judge,
        pairs=pairs,
        out=out,
        mode=mode,  # type: ignore[arg-type]
        principles_per_pair=args.principles_per_pair,
        concurrency=args.concurrency,
        tie_margin=0.0,
        progress=False,
    )
    start = time.perf_counter()
    summary = run_labelling(options, judge_model=model)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "pairs_per_s": round(args.pairs / seconds, 3),
        "calls": summary.calls,
        "cache_hits": summary.cache_hits,
        "records": summary.counts.get("records", 0),
        "missing": summary.counts.get("skipped: missing verdict", 0),
        "consistency_rate": summary.consistency_rate,
        "agreement_with_human": _agreement(out, pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--judge", default="hf/smollm2-135m-instruct")
    parser.add_argument("--constitution", default="cai-harmless")
    parser.add_argument("--principles-per-pair", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--modes", default="logprob,generate")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)"
    )
    args = parser.parse_args()
    source = DATA / "hh_harmless_test_dev.jsonl"
    if not source.is_file():
        sys.exit(f"human-labelled pairs not found at {source}")

    import torch

    from benchmarks.common import machine_info, write_result
    from rlaif.models import get_model
    from rlaif.models.local.gguf import models_dir

    torch.set_num_threads(args.threads)
    # Converted models stay where they are while each mode gets its own response cache.
    os.environ.setdefault("RLAIF_MODELS_DIR", str(models_dir()))

    command = "python benchmarks/bench_labelling.py " + shlex.join(sys.argv[1:])
    print(f"command: {command}")
    print(f"machine: {json.dumps(machine_info())}")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pairs = _subset(source, args.pairs, folder)
        for mode in args.modes.split(","):
            # A fresh, empty response cache for each mode: the first run is cold, the second
            # (same cache, new output file) warm.
            os.environ["RLAIF_CACHE_DIR"] = str(folder / f"cache-{mode}")
            try:
                model = get_model(args.judge)
            except Exception as error:  # say why and stop: there is nothing to measure
                sys.exit(f"cannot load judge {args.judge}: {type(error).__name__}: {error}")
            warmup = [{"role": "user", "content": "Say OK."}]
            from rlaif.models import GenerateConfig

            model.generate_sync(warmup, GenerateConfig(max_tokens=2))  # load weights untimed
            cold = _run(mode, args, pairs, folder / "cold", model)
            warm = _run(mode, args, pairs, folder / "warm", model)
            warm["warm_over_cold"] = round(warm["pairs_per_s"] / cold["pairs_per_s"], 2)
            results[mode] = {"cold": cold, "warm": warm}
            print(f"{mode:>9} cold: {json.dumps(cold)}")
            print(f"{mode:>9} warm: {json.dumps(warm)}")
    if "logprob" in results and "generate" in results:
        ratio = (
            results["logprob"]["cold"]["pairs_per_s"] / results["generate"]["cold"]["pairs_per_s"]
        )
        results["logprob_over_generate_cold"] = {"ratio": round(ratio, 2)}
        print(f"logprob / generate (cold): {ratio:.2f}x")
    path = write_result("labelling", {"command": command, "args": vars(args), "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    (REPO / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    os.chdir(REPO)
    main()

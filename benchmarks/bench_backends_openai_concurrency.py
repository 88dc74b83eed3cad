"""OpenAI backend against a local OpenAI-compatible server with a fixed 200 ms latency:
achieved requests/s versus the bound ``concurrency / latency`` for concurrency 1, 8 and 32.

    .venv/bin/python -m benchmarks.bench_backends_openai_concurrency
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import machine_info, write_result
from rlaif.models import get_model

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))  # the test servers (tests/support/, not shipped in the wheel)

from support import scripted_server as testing  # noqa: E402


async def _run(model, requests: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(
        *(model.generate([{"role": "user", "content": f"request {i}"}]) for i in range(requests))
    )
    return time.perf_counter() - start


@contextlib.contextmanager
def server_process(latency_s: float) -> Iterator[str]:
    """The scripted server in its own process (as a real server would be); yields its URL."""
    with testing.server_process("support.scripted_server", "--latency", str(latency_s)) as started:
        yield started[0]


def measure(url: str, concurrency: int, latency_s: float, seconds: float) -> dict:
    """Requests/s for one concurrency level (about ``seconds`` of traffic)."""
    requests = max(10, round(seconds * concurrency / latency_s))
    model = get_model("openai/bench", base_url=url, max_concurrency=concurrency, cache=False)
    asyncio.run(_run(model, concurrency))  # warm-up: imports, client, connections
    elapsed = asyncio.run(_run(model, requests))
    peak = model.limiter.peak_in_flight
    achieved = requests / elapsed
    bound = concurrency / latency_s
    return {
        "concurrency": concurrency,
        "requests": requests,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(achieved, 2),
        "bound_requests_per_s": round(bound, 2),
        "fraction_of_bound": round(achieved / bound, 3),
        "peak_in_flight": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="server latency, seconds")
    parser.add_argument("--seconds", type=float, default=3.0, help="traffic per level")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    print("command:", " ".join([sys.executable, "-m", __spec__.name, *sys.argv[1:]]))
    print("machine:", machine_info())
    with server_process(args.latency) as url:
        rows = [measure(url, level, args.latency, args.seconds) for level in args.levels]
    for row in rows:
        print(
            f"concurrency {row['concurrency']:>3}: {row['requests_per_s']:7.2f} req/s of "
            f"{row['bound_requests_per_s']:7.2f} bound = {row['fraction_of_bound']:.1%} "
            f"(peak in flight {row['peak_in_flight']})"
        )
    path = write_result("backends_openai_concurrency", {"latency_s": args.latency, "levels": rows})
    print("wrote", path)


if __name__ == "__main__":
    main()

"""PPO's rollout generation: is the loop around the model the cost, or the model?

Eight rows of 60 prompt tokens, 32 sampled tokens each (PPO's quickstart batch and response
length), on the embedded SmolLM2-135M-Instruct in fp32, three ways, interleaved so that the
machine's drift hits each alike: ``generate`` with its default dynamic key/value cache (what
rlaif's PPO runs), ``generate`` with a static (pre-allocated) cache, and a hand-written loop
(one forward a token over a ``DynamicCache``, plain multinomial sampling). Same seed for each, so
the first two sample the same tokens.

    python -m benchmarks.bench_ppo_generation --repeats 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from benchmarks.common import write_result

ROWS, PROMPT, NEW, TEMPERATURE = 8, 60, 32, 0.7


def load() -> Any:
    from transformers import AutoModelForCausalLM

    from rlaif.models.local.loading import resolve

    source = resolve("smollm2-135m-instruct").location
    return AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).eval()


def with_generate(model: Any, query: torch.Tensor, **extra: Any) -> float:
    from transformers import GenerationConfig

    config = GenerationConfig(
        max_new_tokens=NEW,
        do_sample=True,
        temperature=TEMPERATURE,
        top_k=0,
        top_p=1.0,
        pad_token_id=0,
        **extra,
    )
    start = time.perf_counter()
    model.generate(input_ids=query, attention_mask=torch.ones_like(query), generation_config=config)
    return time.perf_counter() - start


def by_hand(model: Any, query: torch.Tensor) -> float:
    from transformers import DynamicCache

    start = time.perf_counter()
    cache, mask = DynamicCache(), torch.ones_like(query)
    output = model(input_ids=query, attention_mask=mask, past_key_values=cache, logits_to_keep=1)
    for _ in range(NEW):
        token = torch.multinomial(torch.softmax(output.logits[:, -1] / TEMPERATURE, -1), 1)
        mask = torch.cat([mask, torch.ones_like(token)], 1)
        output = model(input_ids=token, attention_mask=mask, past_key_values=cache)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    model = load()
    query = torch.randint(100, 1000, (ROWS, PROMPT), generator=torch.Generator().manual_seed(0))
    ways = {
        "generate, dynamic cache": lambda: with_generate(model, query),
        "generate, static cache": lambda: with_generate(
            model, query, cache_implementation="static"
        ),
        "hand-written loop": lambda: by_hand(model, query),
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    with torch.no_grad():
        with_generate(model, query)  # warm-up
        for _ in range(args.repeats):
            for name, run in ways.items():
                torch.manual_seed(0)
                seconds[name].append(round(run(), 2))
    baseline = statistics.median(seconds["generate, dynamic cache"])
    result = {
        "command": f"python -m benchmarks.bench_ppo_generation --repeats {args.repeats}",
        "rows": ROWS,
        "prompt_tokens": PROMPT,
        "new_tokens": NEW,
        "seconds": seconds,
        "ratio_to_generate": {
            name: round(statistics.median(times) / baseline, 2) for name, times in seconds.items()
        },
    }
    print(result)
    write_result("ppo_generation", result)


if __name__ == "__main__":
    main()

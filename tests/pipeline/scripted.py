"""A scripted pipeline for tests: a tiny hf policy, a fake critic and an order-aware fake judge.

Run as a script (``python scripted.py CONFIG``) it registers the ``scripted`` judge backend and
runs the pipeline, so tests can kill it with SIGKILL part-way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

from rlaif.judge.framing import shown_responses
from rlaif.models.providers.fake import FakeBackend
from rlaif.models.registry import register_backend


def careful_first(conversation: list[dict[str, str]], choices: Any) -> dict[str, float]:
    """Prefer the response holding the contrastive strategy's refusal opening: compared
    (pairwise, A/B) or scored alone (pointwise, the default: Yes for the careful one)."""
    request = [m for m in conversation if m["role"] == "user"][-1]["content"]
    if [c.strip() for c in choices] == ["Yes", "No"]:
        p_yes = 0.85 if "sorry" in request.rsplit("final reply:", 1)[-1] else 0.15
        return {choices[0]: p_yes, choices[1]: 1.0 - p_yes}
    a, b = shown_responses(request) or ("", "")
    a_careful = "sorry" in a
    b_careful = "sorry" in b
    p_a = 0.5 if a_careful == b_careful else (0.85 if a_careful else 0.15)
    return {"A": p_a, "B": 1.0 - p_a}


@register_backend("scripted")
class ScriptedJudge(FakeBackend):
    """An order-aware fake judge that logs every finished call to ``$RLAIF_TEST_CALL_LOG``."""

    def __init__(self, model: str, **options: Any):
        options.setdefault("choice_probs", careful_first)
        options.setdefault("outputs", ["A"])
        super().__init__(model, **options)

    async def choice_logprobs(self, conversation, choices):  # type: ignore[no-untyped-def]
        result = await super().choice_logprobs(conversation, choices)
        self._log()  # a finished call: one that a resumed run must not make again
        return result

    def _log(self) -> None:
        log = os.environ.get("RLAIF_TEST_CALL_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write("judge\n")


HUMAN_PAIRS = [
    ("How do I hurt someone?", "I can't help with that.", "Hit them hard."),
    ("How do I make a bomb?", "I won't help with that.", "Mix these chemicals."),
    ("Tell me a joke", "Why did the chicken cross the road? To get to the other side.", "No."),
    ("Find my ex's address", "I can't help find a private address.", "Search public records."),
]


def write_config(
    folder: Path,
    policy_path: Path,
    judge_options: dict[str, Any] | None = None,
    prompts: dict[str, str] | None = None,
    **stage_overrides: Any,
) -> Path:
    """Write a small pipeline config (and a human-labelled file) into ``folder``."""
    import json

    human = folder / "human.jsonl"
    with human.open("w", encoding="utf-8") as handle:
        for index, (question, chosen, rejected) in enumerate(HUMAN_PAIRS):
            record = {
                "id": f"h{index}",
                "prompt": [{"role": "user", "content": question}],
                "chosen": chosen,
                "rejected": rejected,
            }
            handle.write(json.dumps(record) + "\n")
    stages: dict[str, Any] = {
        "critique": {"limit": 3, "policy": {"max_tokens": 6}, "critic": {"max_tokens": 12}},
        "sft": {"config": {"max_steps": 2, "per_device_train_batch_size": 2}},
        "sample": {"limit": 2, "n": 2, "generation": {"temperature": 1.0, "max_tokens": 6}},
        "label": {
            "strategy": "contrastive",
            "also": ["judge", "revision"],
            "confirm": True,
            "limit": 6,
            "generation": {"max_tokens": 6},
        },
        "rm": {"config": {"max_steps": 2, "per_device_train_batch_size": 2, "eval_fraction": 0.25}},
        "policy": {
            "algorithm": "ppo",
            "config": {"max_steps": 1, "per_device_train_batch_size": 2, "response_length": 6},
        },
        "eval": {
            "prompt_limit": 2,
            "generation": {"max_tokens": 6},
            "human_data": "human.jsonl",
            "human_limit": 4,
        },
    }
    for stage, override in stage_overrides.items():
        stages[stage] = {**stages[stage], **override}
    config = {
        "name": "scripted",
        "output_dir": str(folder / "runs"),
        "constitution": "cai-harmless",
        "models": {
            "policy": {"name": f"hf/{policy_path}"},
            "critic": {
                "name": "fake/critic",
                "options": {"outputs": ["Too blunt.", "I can't help with that, but I can help."]},
            },
            "judge": {
                "name": "scripted/judge",
                "max_concurrency": 1,
                "cache": True,  # as real backends do by default (fake ones do not)
                "options": judge_options or {},
            },
        },
        "stages": stages,
    }
    if prompts:
        config["prompts"] = prompts
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


if __name__ == "__main__":
    from rlaif.pipeline.api import run_pipeline

    run_pipeline(Path(sys.argv[1]), log=lambda line: print(line, flush=True))

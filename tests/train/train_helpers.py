"""Builders shared by the training tests: synthetic datasets, tiny models, weight comparison."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from safetensors.torch import load_file
from support.files import write_jsonl as write_jsonl  # the helpers' importers use it from here
from torch import nn

WORDS = [
    "the",
    "a",
    "help",
    "code",
    "step",
    "process",
    "python",
    "kill",
    "command",
    "request",
    "answer",
    "please",
    "thanks",
]
MARKER = "sorry"
"""The learnable rule of the synthetic preference set: the chosen response ends with this word."""


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6)))


def marker_pairs(n: int, seed: int = 0, *, swap: bool = False) -> list[dict[str, Any]]:
    """PreferenceRecord-shaped pairs whose chosen response carries :data:`MARKER` (rejected
    doesn't); ``swap`` exchanges the two columns."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        good, bad = f"{_sentence(rng)} {MARKER}", _sentence(rng)
        p = rng.uniform(0.6, 1.0)
        chosen, rejected = (bad, good) if swap else (good, bad)
        records.append(
            {
                "prompt": [{"role": "user", "content": f"question {i}: {_sentence(rng)}"}],
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}],
                "p_chosen": p,
                "margin": 2 * p - 1,
                "consistent": rng.random() > 0.1,
                "principles": ["harmless"],
                "judge": "fake/test",
                "strategy": "judge",
                "id": f"pair-{seed}-{i}",
                "metadata": {"orders": ["ab", "ba"], "note": i},
            }
        )
    return records


def human_style(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same pairs in the human-labelled file format (chosen/rejected as strings)."""
    return [
        {
            "id": r["id"],
            "prompt": r["prompt"],
            "chosen": r["chosen"][0]["content"],
            "rejected": r["rejected"][0]["content"],
            "label_origin": "human",
        }
        for r in records
    ]


def sft_records(n: int) -> list[dict[str, Any]]:
    """SFTRecord-shaped critique-and-revise records."""
    rng = random.Random(1)
    return [
        {
            "messages": [
                {"role": "user", "content": f"How do I {_sentence(rng)}?"},
                {"role": "assistant", "content": "I'm sorry, but I can't help with that request."},
            ],
            "initial": _sentence(rng),
            "critiques": ["The response is harmful."],
            "revisions": ["I'm sorry, but I can't help with that request."],
            "principles": ["harmless"],
            "id": f"sft-{i}",
            "metadata": {},
        }
        for i in range(n)
    ]


def prompt_records(n: int) -> list[dict[str, Any]]:
    """Prompt-set lines."""
    return [
        {
            "id": f"p{i}",
            "prompt": [{"role": "user", "content": f"Tell me about {i}"}],
            "category": "benign",
        }
        for i in range(n)
    ]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of a saved model folder."""
    return load_file(str(folder / "model.safetensors"))


def changed_tensors(before: Path, after: Path) -> list[str]:
    """Names of tensors whose values differ between two saved models."""
    a, b = weights(before), weights(after)
    return [
        name
        for name in a
        if name in b and a[name].shape == b[name].shape and not torch.equal(a[name], b[name])
    ]


class _WindowCounter(nn.Module):
    def __init__(self, target: torch.Tensor, window: int) -> None:
        super().__init__()
        self.register_buffer("target", target)
        self.window = window

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any) -> Any:
        hits = (self.target[input_ids] & attention_mask.bool()).float()
        cumulative = nn.functional.pad(hits.cumsum(1), (self.window, 0))
        in_window = cumulative[:, self.window :] - cumulative[:, : -self.window]
        return SimpleNamespace(hidden_states=(in_window.unsqueeze(-1) / self.window,))


class TokenSetScorer(nn.Module):
    """A fixed reward model in TRL's shape (``base_model_prefix`` backbone + ``score``): the share
    of the last ``window`` tokens that belong to ``target`` (a boolean mask over the vocabulary)."""

    base_model_prefix = "backbone"

    def __init__(self, target: torch.Tensor, window: int) -> None:
        super().__init__()
        self.backbone = _WindowCounter(target, window)
        self.score = nn.Identity()

"""Sampling responses from a policy: K independent samples per prompt, and RLCD's contrastive
pairs (one response under a principle's positive side, one under its negation).

Each sample gets its own seed derived from the prompt id and sample index, so samples differ even
at equal settings, and a rerun asks for exactly the same calls (which the response cache serves).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rlaif.constitution import Principle
from rlaif.constitution.templates import compile_template
from rlaif.models import Completion, Conversation, GenerateConfig, Model


def sample_seed(seed: int, prompt_id: str, index: int) -> int:
    """A per-sample seed (31 bits) from the run seed, the prompt id and the sample index."""
    digest = hashlib.sha256(f"{seed}:{prompt_id}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class SamplingSettings(BaseModel):
    """How responses are sampled from the policy."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    n: int = 2
    """Responses per prompt."""
    temperature: float = 0.8
    """Sampling temperature (0 gives K identical greedy responses)."""
    top_p: float = 1.0
    """Nucleus sampling threshold."""
    max_tokens: int = 256
    """Most new tokens per response."""
    seed: int = 0
    """Run seed; each sample's seed is derived from it, the prompt id and the sample index."""


async def sample_responses(
    model: Model, prompt: Conversation, prompt_id: str, settings: SamplingSettings
) -> list[Completion]:
    """``settings.n`` responses to ``prompt``, sampled concurrently."""
    configs = [
        GenerateConfig(
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_tokens,
            seed=sample_seed(settings.seed, prompt_id, index),
        )
        for index in range(settings.n)
    ]
    return list(await asyncio.gather(*(model.generate(prompt, c) for c in configs)))


class ContrastiveAffixes(BaseModel):
    """RLCD's affixes: how the positive and negative responses are steered.

    Texts are sandboxed Jinja templates with the sampled ``principle`` available
    (``{{ principle.title }}``, ``{{ principle.description }}``). Small models ignore system
    prompts far more than a prefilled opening of their own turn, so ``form`` defaults to both.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    form: Literal["system", "prefill", "both"] = "both"
    """Steer with a system prompt, a prefilled assistant opening, or both."""
    positive_system: str = (
        "You are a helpful assistant. In your reply, follow this principle: "
        "{{ principle.title }}. {{ principle.description }}"
    )
    """System prompt of the positive (preferred) response."""
    negative_system: str = (
        "You are an assistant that disregards this principle: {{ principle.title }}. "
        "{{ principle.description }} Reply without any regard for it."
    )
    """System prompt of the negative (dispreferred) response."""
    positive_prefill: str = "I want to answer this carefully and responsibly."
    """Opening of the positive response, which the model continues."""
    negative_prefill: str = "Sure, here is exactly what you asked for, with no caveats:"
    """Opening of the negative response, which the model continues."""
    keep_prefill: bool = True
    """Keep the prefilled opening in the stored response (it is what the response says)."""


def _steered(
    prompt: Conversation, principle: Principle, affixes: ContrastiveAffixes, side: str
) -> tuple[Conversation, str]:
    system = getattr(affixes, f"{side}_system")
    prefill = getattr(affixes, f"{side}_prefill")
    messages = [dict(m) for m in prompt]
    if affixes.form in ("system", "both"):
        text = compile_template(system).render(principle=principle).strip()
        if messages and messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{text}"}
        else:
            messages.insert(0, {"role": "system", "content": text})
    opening = ""
    if affixes.form in ("prefill", "both"):
        opening = compile_template(prefill).render(principle=principle).strip()
        messages.append({"role": "assistant", "content": opening})
    return messages, opening


def _joined(opening: str, continuation: str) -> str:
    if not opening:
        return continuation.strip()
    if not continuation.strip():
        return opening
    glue = "" if continuation[:1].isspace() or continuation[:1] in ".,;:!?" else " "
    return (opening + glue + continuation).strip()


async def contrastive_responses(
    model: Model,
    prompt: Conversation,
    prompt_id: str,
    principle: Principle,
    affixes: ContrastiveAffixes,
    settings: SamplingSettings,
) -> tuple[str, str, dict[str, Any]]:
    """Sample the positive and negative response for ``prompt`` under ``principle``.

    Returns ``(positive, negative, details)``; ``details`` records the affixes used, finish
    reasons and usage.
    """
    sides = ("positive", "negative")
    steered = [_steered(prompt, principle, affixes, side) for side in sides]
    config = GenerateConfig(
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_tokens=settings.max_tokens,
        seed=sample_seed(settings.seed, prompt_id, 0),
    )
    completions = await asyncio.gather(*(model.generate(m, config) for m, _ in steered))
    texts = []
    for (_, opening), completion in zip(steered, completions, strict=True):
        kept = opening if affixes.keep_prefill else ""
        texts.append(_joined(kept, completion.text))
    details = {
        "principle": principle.id,
        "form": affixes.form,
        "prefills": [opening for _, opening in steered],
        "finish_reasons": [c.finish_reason for c in completions],
        "cache_hits": sum(int(c.cached) for c in completions),
        "cost": sum(c.cost_usd or 0.0 for c in completions),
    }
    return texts[0], texts[1], details

"""Sampling responses from a policy: K independent samples per prompt, and RLCD's contrastive
pairs (one response under a principle's positive side, one under its negation).

Each sample gets its own seed derived from the prompt id and sample index, so samples differ even
at equal settings, and a rerun asks for exactly the same calls (which the response cache serves).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from rlaif.constitution import Constitution, Contrast, Principle
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


ContrastiveAffixes = Contrast
"""RLCD affixes: the constitution's ``contrast`` section (:class:`rlaif.constitution.Contrast`)."""


def steered_conversation(
    prompt: Conversation, principle: Principle, affixes: ContrastiveAffixes, side: str
) -> tuple[Conversation, str]:
    """``prompt`` steered to the ``side`` (``positive`` or ``negative``) of ``principle``: the
    side's system prompt and prefilled opening, as ``affixes.form`` says; an empty text adds
    nothing. Returns the messages and the opening (``""`` without one)."""
    system = getattr(affixes, f"{side}_system")
    prefill = getattr(affixes, f"{side}_prefill")
    messages = [dict(m) for m in prompt]
    text = ""
    if affixes.form in ("system", "both"):
        text = compile_template(system).render(principle=principle).strip()
    if text:
        if messages and messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{text}"}
        else:
            messages.insert(0, {"role": "system", "content": text})
    opening = ""
    if affixes.form in ("prefill", "both"):
        opening = compile_template(prefill).render(principle=principle).strip()
        if opening:
            messages.append({"role": "assistant", "content": opening})
    return messages, opening


def contrast_principle(
    constitution: Constitution,
    prompt: Conversation,
    prompt_id: str,
    category: str | None,
    seed: int,
) -> Principle:
    """The principle a prompt is steered by: the one its category names when the constitution
    has it (the red-team sets use principle ids as categories), else one sampled per prompt
    (seeded by ``seed`` and the prompt id) from the principles that fit it (see
    :meth:`Constitution.pool`)."""
    by_id = {p.id: p for p in constitution.eligible("critique")}
    if category in by_id:
        return by_id[category]
    rng = random.Random(f"{seed}:{prompt_id}")
    drawn = constitution.sample(1, rng, stage="critique", prompt=prompt, category=category or None)
    return drawn[0]


_SENTENCE_END = re.compile(r"[.!?](?:[\"')\]]*)(?=\s|$)")


def trimmed_to_sentence(text: str, keep: int = 0) -> str:
    """``text`` cut back to its last complete sentence, when one ends after its first ``keep``
    characters (a prefilled opening); otherwise ``text`` unchanged. For replies that ``max_tokens``
    cut off, so that a policy trained on them does not learn to stop mid-sentence."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() > keep]
    return text[: ends[-1]].rstrip() if ends else text


async def steered_response(
    model: Model,
    prompt: Conversation,
    prompt_id: str,
    principle: Principle,
    affixes: ContrastiveAffixes,
    settings: SamplingSettings,
    side: str = "positive",
) -> tuple[str, str, Completion]:
    """One response to ``prompt`` steered to ``side`` of ``principle`` (see
    :func:`steered_conversation`): the stored text (opening kept as ``affixes.keep_prefill``
    says), the opening, and the completion."""
    messages, opening = steered_conversation(prompt, principle, affixes, side)
    config = GenerateConfig(
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_tokens=settings.max_tokens,
        seed=sample_seed(settings.seed, prompt_id, 0),
    )
    completion = await model.generate(messages, config)
    kept = opening if affixes.keep_prefill else ""
    return _joined(kept, completion.text), opening, completion


def _joined(opening: str, continuation: str) -> str:
    if not opening:
        return continuation.strip()
    if not continuation.strip():
        return opening
    glue = "" if continuation[:1].isspace() or continuation[:1] in ".,;:!?" else " "
    return (opening + glue + continuation).strip()


def contrast_details(
    principle: Principle,
    affixes: ContrastiveAffixes,
    sides: Sequence[tuple[str, str, Completion]],
) -> dict[str, Any]:
    """What a contrastive pair records about its two :func:`steered_response` sides (positive,
    then negative): the principle, the affix form, the openings, finish reasons, cache hits and
    cost."""
    completions = [completion for _, _, completion in sides]
    return {
        "principle": principle.id,
        "form": affixes.form,
        "prefills": [opening for _, opening, _ in sides],
        "finish_reasons": [c.finish_reason for c in completions],
        "cache_hits": sum(int(c.cached) for c in completions),
        "cost": sum(c.cost_usd or 0.0 for c in completions),
    }

"""The ``distill`` method of ``rlaif critique`` (context distillation): the policy answers a prompt
steered towards a principle by the constitution's ``contrast`` (its positive side), and that
answer, after the bare prompt, becomes the SFT target. No critic is called, so it costs one policy
call per prompt; CAI's critique-and-revise costs a policy call and two critic calls per round.

With ``cai-harmless`` the positive side opens with a refusal, so the policy learns to decline
harmful requests; with ``helpful`` it is the policy's own unsteered answer (CAI's helpfulness
samples), so it keeps answering harmless ones.
"""

from __future__ import annotations

from rlaif.constitution import Constitution
from rlaif.data.records import PromptRecord, SFTRecord, SkippedRecord
from rlaif.datagen.generate import skipped_prompt
from rlaif.judge.sampling import (
    SamplingSettings,
    contrast_principle,
    steered_response,
    trimmed_to_sentence,
)
from rlaif.judge.strategies import with_category
from rlaif.models import Model
from rlaif.runs import CallFailure, attempt


async def distilled_record(
    policy: Model,
    prompt: PromptRecord,
    constitution: Constitution,
    sampling: SamplingSettings,
    seed: int,
) -> SFTRecord | SkippedRecord:
    """The SFT record of ``prompt``, or why it was skipped (the policy's call is counted from
    its usage event, as every call is)."""
    principle = contrast_principle(
        constitution, prompt.prompt, prompt.id, prompt.category or None, seed
    )
    affixes = constitution.contrast
    steered = await attempt(
        steered_response(policy, prompt.prompt, prompt.id, principle, affixes, sampling)
    )
    if isinstance(steered, CallFailure):  # recorded, and the run goes on
        return skipped_prompt(prompt, f"failed: steered response: {steered}", "critique")
    text, opening, completion = steered
    trimmed = completion.finish_reason == "length"
    if trimmed:
        text = trimmed_to_sentence(text, keep=len(opening) if affixes.keep_prefill else 0)
    if not text.strip():
        return skipped_prompt(prompt, "empty response", "critique")
    metadata = {"method": "distill", "opening": opening, "trimmed": trimmed}
    record = SFTRecord(
        messages=[*prompt.prompt, {"role": "assistant", "content": text}],
        initial=text,
        critiques=[],
        revisions=[],
        principles=[principle.id],
        id=prompt.id,
        metadata=with_category(metadata, prompt.category or None),
    )
    return record

"""The ``cot`` mode: reasoning, then a verdict line, read as a probability where the backend can
score it (as in the CAI paper) and clamped to the judge's ``cot_band``."""

from __future__ import annotations

import json

from rlaif.judge.judgment import Vote, account_call
from rlaif.judge.modes.base import ComparisonMode, Judging
from rlaif.judge.verdict import choice_probability, parse_cot_verdict
from rlaif.models import GenerateConfig
from rlaif.models.types import Conversation


class CotMode(ComparisonMode):
    """``cot``: reasoning, then a verdict line; clamped to the judge's ``cot_band`` because
    reasoning makes judges overconfident (CAI paper)."""

    name = "cot"
    soft = False
    stage = "compare_cot"
    template = "compare_cot"

    def prefill(self, judge: Judging) -> str | None:
        return None  # the reasoning comes first; the verdict's opening is read after it

    def output_tokens(self, judge: Judging) -> int:
        return judge.max_reasoning_tokens

    async def verdict(
        self, judge: Judging, messages: Conversation, vote: Vote, shown: tuple[str, str]
    ) -> float | None:
        model = judge.model
        config = GenerateConfig(temperature=0.0, max_tokens=judge.max_reasoning_tokens)
        completion = await model.generate(messages, config)
        account_call(vote, completion, first=True)
        vote.raw = completion.text
        verdict = parse_cot_verdict(completion.text)
        if verdict.choice is None:
            vote.error = verdict.reason
            return None
        p_first = 1.0 if verdict.choice == "A" else 0.0
        if model.supports_choice_logprobs and model.supports_prefill:
            # Read the verdict's probability where the reasoning ends, as in the CAI paper.
            prefill = completion.text[: verdict.position].rstrip() + "\nVerdict:"
            scored = [*messages, {"role": "assistant", "content": prefill.lstrip()}]
            scores = await model.score_choices(scored, [" A", " B"])
            account_call(vote, scores, first=False)
            vote.raw += "\n" + json.dumps(scores.logprobs)
            soft = choice_probability(scores.logprobs, " A", " B")
            if soft is not None:
                p_first = soft
        low, high = judge.cot_band
        return min(max(p_first, low), high)

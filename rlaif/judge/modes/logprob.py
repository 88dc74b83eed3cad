"""The ``logprob`` mode: the soft probability of ``A`` against ``B``, read from one forward pass
over a prompt whose assistant turn is prefilled with the answer's opening."""

from __future__ import annotations

import json

from rlaif.judge.judgment import Vote, account_call
from rlaif.judge.modes.base import ComparisonMode, Judging
from rlaif.judge.verdict import CHOICES, choice_probability
from rlaif.models.types import Conversation


class LogprobMode(ComparisonMode):
    """``logprob``: the probability of ``A`` against ``B`` after a prefilled answer opening."""

    name = "logprob"
    soft = True

    async def verdict(
        self, judge: Judging, messages: Conversation, vote: Vote, shown: tuple[str, str]
    ) -> float | None:
        scores = await judge.model.score_choices(messages, list(CHOICES))
        account_call(vote, scores, first=True)
        vote.raw = json.dumps(scores.logprobs)
        p_first = choice_probability(scores.logprobs, *CHOICES)
        if p_first is None:
            vote.error = f"judge gave no usable probabilities for A/B: {vote.raw}"
        return p_first

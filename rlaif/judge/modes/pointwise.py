"""The ``pointwise`` mode: each response scored alone under each principle's own question (the
constitution's ``score`` template), ``p = sigmoid(s1 - s2)`` of the two log-odds: free of
position bias by construction."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from rlaif.constitution.templates import template_variables
from rlaif.judge.judgment import Judgment, Vote, combine_scores, yes_no_vote
from rlaif.judge.modes.base import Ballot, JudgeMode, Judging, Plan
from rlaif.models.types import Conversation

if TYPE_CHECKING:
    from rlaif.constitution import Principle


class PointwiseMode(JudgeMode):
    """``pointwise``: each response scored alone under each principle's own question (the
    constitution's ``score`` template); ``p = sigmoid(s1 - s2)``."""

    name = "pointwise"
    soft = True
    ordered = False
    template = "score"

    async def votes(self, judge: Judging, plan: Plan) -> list[Vote]:
        """Both responses scored under every principle. A score template that does not name
        the principle renders the same request for each one: it is sent once and its vote
        repeated (with no tokens or cost counted twice)."""
        prompt, shown_1, shown_2 = plan.shown
        planned = []
        requests: dict[str, Conversation] = {}
        for principle in plan.principles:
            for side, text in (("1", shown_1), ("2", shown_2)):
                messages = judge.render_score(prompt, text, principle)
                key = json.dumps(messages, ensure_ascii=False)
                requests.setdefault(key, messages)
                planned.append((principle, side, key))
        model = judge.model
        answered = await asyncio.gather(*(yes_no_vote(model, m) for m in requests.values()))
        by_request = dict(zip(requests, answered, strict=True))
        counted: set[str] = set()
        votes: list[Vote] = []
        for principle, side, key in planned:
            vote = by_request[key].model_copy(update={"principle": principle.id, "response": side})
            if key in counted:  # a repeat of a request already counted
                free = {"input_tokens": 0, "output_tokens": 0, "cost_usd": None, "latency_s": 0.0}
                vote = vote.model_copy(update=free)
            counted.add(key)
            votes.append(vote)
        return votes

    def combine(self, judge: Judging, ballot: Ballot) -> Judgment:
        principles, partial = ballot.principles, judge.partial_ensembles
        return combine_scores(
            ballot.pair_id, judge.name, principles, ballot.votes, ballot.notes, partial=partial
        )

    def calls_per_pair(self, judge: Judging, principles: int) -> int:
        """One call a response, or one a response and principle where the score template
        reads the principle or its question."""
        read = template_variables(judge.constitution.template_source("score"))
        return 2 * (principles if read & {"question", "principle"} else 1)

    def sample_request(
        self, judge: Judging, prompt: Conversation, response: str, principle: Principle
    ) -> Conversation:
        return judge.render_score(prompt, response, principle)

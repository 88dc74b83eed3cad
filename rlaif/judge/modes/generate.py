"""The ``generate`` mode: a short verdict, generated and parsed (structured output where the
backend has it); 1 or 0."""

from __future__ import annotations

from rlaif.judge.judgment import Vote, account_call
from rlaif.judge.modes.base import ComparisonMode, Judging
from rlaif.judge.verdict import VERDICT_SCHEMA, parse_prefilled_verdict, parse_verdict
from rlaif.models import GenerateConfig
from rlaif.models.types import Conversation


class GenerateMode(ComparisonMode):
    """``generate``: a short verdict, parsed (structured output where the backend has it)."""

    name = "generate"
    soft = False

    def prefill(self, judge: Judging) -> str | None:
        if judge.model.supports_json_schema:
            return None  # structured output answers {"verdict": ...}; a prefill would break it
        return super().prefill(judge)

    def output_tokens(self, judge: Judging) -> int:
        return judge.max_verdict_tokens

    async def verdict(
        self, judge: Judging, messages: Conversation, vote: Vote, shown: tuple[str, str]
    ) -> float | None:
        schema = VERDICT_SCHEMA if judge.model.supports_json_schema else None
        config = GenerateConfig(
            temperature=0.0, max_tokens=judge.max_verdict_tokens, json_schema=schema
        )
        completion = await judge.model.generate(messages, config)
        account_call(vote, completion, first=True)
        vote.raw = completion.text
        read = parse_prefilled_verdict if messages[-1]["role"] == "assistant" else parse_verdict
        verdict = read(completion.text)
        if verdict.choice is None:
            vote.error = verdict.reason
            return None
        return 1.0 if verdict.choice == "A" else 0.0

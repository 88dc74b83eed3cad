"""The pairwise judge: which of two responses better follows a principle, as a probability.

Every pair is judged under one or more sampled principles and, by default, in both presentation
orders; the probabilities are averaged so that a judge's preference for the first (or second)
position cancels out. Verdicts come from choice log-probabilities (``logprob``: one forward pass
over a prompt whose assistant turn is prefilled with the answer's opening, a soft probability),
from parsed text (``generate``), from reasoning followed by a verdict line (``cot``, clamped to a
band because reasoning makes judges overconfident), or from scoring each response alone
(``pointwise``: ``p = sigmoid(s1 - s2)`` of the two log-odds, free of position bias by
construction). Each mode is an object of :mod:`rlaif.judge.modes`; this module samples what a
pair is judged under and leaves the votes to the mode.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from rlaif.constitution import Constitution, Principle
from rlaif.constitution.schema import RequestSide
from rlaif.errors import ConfigError
from rlaif.judge.calibration import calibrate_judgment
from rlaif.judge.framing import comparison_messages, score_messages
from rlaif.judge.judgment import BACKEND_ERROR, Judgment, Order
from rlaif.judge.modes import JUDGE_MODES, Ballot, JudgeMode, Mode, Plan, choose_mode
from rlaif.judge.request_check import (
    SIDES,
    check_failed,
    check_request,
    mix_sides,
    p_harmful,
    side_weights,
    weighs_sides,
)
from rlaif.judge.settings import DEFAULT_COT_BAND, JudgeSettings
from rlaif.judge.shortening import (
    DEFAULT_MAX_PROMPT_CHARS,
    DEFAULT_MAX_RESPONSE_CHARS,
    shorten_conversation,
    shorten_text,
)
from rlaif.judge.strategies import metadata_category
from rlaif.judge.verdict import CHOICES
from rlaif.models import CapabilityError, Conversation, Model, blocking
from rlaif.runs import RunProgress

ORDERS: tuple[Order, Order] = ("12", "21")


class PairLike(Protocol):
    """Anything with the fields of a :class:`~rlaif.data.records.PairRecord`."""

    id: str
    prompt: Conversation
    response_1: str
    response_2: str


def pair_key(prompt: Sequence[dict[str, str]], response_1: str, response_2: str) -> str:
    """A content hash of a pair that ignores which response is first (used to sample the same
    principles and frame the same prompts whichever way round the pair is given)."""
    payload = json.dumps([list(prompt), sorted([response_1, response_2])], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def pair_category(pair: object) -> str | None:
    """A pair's prompt category: its ``category`` attribute or ``metadata["category"]``."""
    category = getattr(pair, "category", None) or metadata_category(getattr(pair, "metadata", None))
    return str(category) if category else None


class PairwiseJudge:
    """An AI judge that labels preference pairs under a constitution.

    Args:
        model: the judge model.
        constitution: principles, templates and few-shot examples.
        mode: ``auto`` (see :func:`auto_choice`: by what the judge can do), ``logprob``,
            ``generate``, ``cot`` or ``pointwise`` (each response scored alone with the
            constitution's ``score`` template; needs choice log-probabilities), or a
            :class:`~rlaif.judge.modes.JudgeMode`; the judge's :attr:`mode` is the object.
        both_orders: judge (1, 2) and (2, 1) and average (default); ``False`` judges one random
            order per pair, recorded in :attr:`Judgment.orders`.
        cot_band: ``(low, high)`` clamp for ``cot`` probabilities (CAI paper: 0.4–0.6).
        principles_per_pair: principles sampled per pair (default: the constitution's
            ``sampling.per_example``); their probabilities are averaged.
        seed: seeds principle sampling and delimiter codes; same seed, same prompts.
        max_verdict_tokens: token budget of a ``generate`` verdict.
        max_reasoning_tokens: token budget of ``cot`` reasoning.
        max_response_chars: responses longer than this are shortened for the judge (noted in
            :attr:`Judgment.notes`).
        max_prompt_chars: a conversation longer than this is shortened for the judge (see
            :func:`~rlaif.judge.shortening.shorten_conversation`; noted in
            :attr:`Judgment.notes`).
        partial_ensembles: when a vote's call fails, judge the pair from the votes that
            answered (each order needs one; the gap is stated in :attr:`Judgment.notes`)
            instead of leaving it missing (the default: a failed call is never averaged away).
        position_prior: the judge's prior logit for the first-shown response (from
            ``rlaif eval agreement``'s ``position_prior_logit``, or
            :func:`~rlaif.judge.calibration.estimate_position_prior`), removed from every soft
            vote before the orders are combined; ``None`` leaves votes as they are.
    """

    def __init__(
        self,
        model: Model,
        constitution: Constitution,
        *,
        mode: Mode | JudgeMode = "auto",
        both_orders: bool = True,
        cot_band: tuple[float, float] = DEFAULT_COT_BAND,
        principles_per_pair: int | None = None,
        seed: int = 0,
        max_verdict_tokens: int = 16,
        max_reasoning_tokens: int = 512,
        max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
        max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
        partial_ensembles: bool = False,
        position_prior: float | None = None,
    ):
        choice = choose_mode(mode, model, constitution)
        self.falls_back = choice.automatic
        """Whether a judge that turns out to return no log-probabilities switches to
        ``generate`` (only when the mode was ``auto``)."""
        self.mode_reason = choice.reason
        """Why the judge has its mode: ``chosen``, or what ``auto`` went by."""
        if max_prompt_chars < 1 or max_response_chars < 1:
            raise ConfigError("max_prompt_chars and max_response_chars must be at least 1")
        low, high = cot_band
        if not 0.0 <= low <= 0.5 <= high <= 1.0:
            raise ConfigError(f"cot_band must satisfy 0 <= low <= 0.5 <= high <= 1, got {cot_band}")
        pool = constitution.eligible("compare")
        if not pool:
            raise ConfigError(f"constitution {constitution.name!r} has no comparison principles")
        count = principles_per_pair or constitution.sampling.per_example
        if not 1 <= count <= len(pool):
            raise ConfigError(
                f"principles_per_pair={count}, but constitution {constitution.name!r} has "
                f"{len(pool)} comparison principles"
            )
        self.model = model
        self.constitution = constitution
        self.mode: JudgeMode = choice.mode
        """How this judge judges a pair (:mod:`rlaif.judge.modes`); ``mode.name`` names it."""
        self.both_orders = both_orders
        self.cot_band = (low, high)
        self.principles_per_pair = count
        self.seed = seed
        self.max_verdict_tokens = max_verdict_tokens
        self.max_reasoning_tokens = max_reasoning_tokens
        self.max_response_chars = max_response_chars
        self.max_prompt_chars = max_prompt_chars
        self.partial_ensembles = partial_ensembles
        self.position_prior = position_prior

    @classmethod
    def from_settings(
        cls, model: Model, constitution: Constitution, settings: JudgeSettings, **options: Any
    ) -> PairwiseJudge:
        """The judge ``settings`` describe; ``options`` are the rest of the arguments (``seed``,
        ``max_prompt_chars``...)."""
        return cls(model, constitution, **settings.judge_arguments(), **options)

    @property
    def name(self) -> str:
        """``provider/model`` of the judge."""
        return self.model.name

    @property
    def choices(self) -> tuple[str, str]:
        """The two answer tokens whose log-probabilities give a ``logprob`` verdict."""
        return CHOICES

    @property
    def prefill(self) -> str | None:
        """The answer opening sent as the start of the judge's turn in its mode (``None`` when
        the constitution has none, the backend cannot continue an assistant turn, the mode
        prefills nothing, or ``generate`` asks for structured output)."""
        return self.mode.prefill(self)

    def settings(self) -> dict[str, Any]:
        """Everything that shapes this judge's labels (for manifests)."""
        return {
            "judge": self.name,
            "mode": self.mode.name,
            "both_orders": self.both_orders,
            "cot_band": list(self.cot_band),
            "principles_per_pair": self.principles_per_pair,
            "judge_seed": self.seed,
            "max_verdict_tokens": self.max_verdict_tokens,
            "max_reasoning_tokens": self.max_reasoning_tokens,
            "max_response_chars": self.max_response_chars,
            "max_prompt_chars": self.max_prompt_chars,
            "partial_ensembles": self.partial_ensembles,
            "framing": self.constitution.judge.labels,
            "prefill": self.prefill,
            "position_prior": self.position_prior,
        }

    def plan_summary(self) -> dict[str, Any]:
        """How this judge labels, for a job's start line and its manifest: the mode and why,
        the orders, the principles a pair, the request check and which of its sides are asked."""
        check = self.constitution.judge.request_check
        return {
            "judge": self.name,
            "mode": self.mode.name,
            "why": self.mode_reason,
            "orders": "none" if not self.mode.ordered else "both" if self.both_orders else "one",
            "principles_per_pair": self.principles_per_pair,
            "request_check": check.question if check is not None else None,
            "request_sides": check.ask_sides if check is not None else None,
            "constitution": self.constitution.name,
        }

    def describe(self) -> str:
        """One line saying how this judge labels, e.g. ``judge openai/x: logprob (auto: API
        judge that returns log-probabilities), both orders, 2 principles a pair``."""
        plan = self.plan_summary()
        orders = {
            "none": "each reply scored alone",
            "both": "both orders",
            "one": "one order a pair",
        }[plan["orders"]]
        principles = f"{plan['principles_per_pair']} principle(s) a pair"
        if plan["request_sides"] == "both":
            principles += " on each side of a request check (harmful: harmlessness; else help)"
        elif plan["request_sides"] == "likelier":
            principles += (
                " on the side a request check finds likelier (harmful: harmlessness; else help)"
            )
        return (
            f"judge {self.name}: {self.mode.name} ({self.mode_reason}), {orders}, {principles}, "
            f"constitution {plan['constitution']}"
        )

    def plan(
        self, prompt: Conversation, response_1: str, response_2: str, category: str | None = None
    ) -> tuple[list[Principle], list[Order]]:
        """The principles (those that fit the prompt and its ``category``, see
        :meth:`Constitution.sample`) and presentation orders this pair will be judged under
        (under a request check, both sides' principles)."""
        _, principles, orders = self._draw(prompt, response_1, response_2, category)
        return principles, orders

    def _draw(
        self, prompt: Conversation, response_1: str, response_2: str, category: str | None
    ) -> tuple[dict[RequestSide, list[Principle]] | None, list[Principle], list[Order]]:
        rng = random.Random(f"{self.seed}:{pair_key(prompt, response_1, response_2)}")
        stage = self.mode.stage
        constitution = self.constitution
        sides: dict[RequestSide, list[Principle]] | None = None
        if weighs_sides(constitution, stage, prompt=prompt, category=category):
            sides = {
                side: constitution.sample(
                    self.principles_per_pair,
                    rng,
                    stage=stage,
                    prompt=prompt,
                    category=category,
                    side=side,
                )
                for side in SIDES
            }
            drawn = {p.id: p for side in SIDES for p in sides[side]}
            principles = list(drawn.values())
        else:
            principles = constitution.sample(
                self.principles_per_pair, rng, stage=stage, prompt=prompt, category=category
            )
        orders: list[Order] = list(ORDERS) if self.both_orders else [rng.choice(ORDERS)]
        return sides, principles, orders

    def render(
        self,
        prompt: Conversation,
        first: str,
        second: str,
        principle: Principle,
        mode: JudgeMode | None = None,
    ) -> list[dict[str, str]]:
        """The messages the judge reads for one comparison in ``mode`` (default: the judge's):
        ``first`` shown as A, ``second`` as B, ending with the prefilled opening of the answer
        where there is one."""
        mode = mode or self.mode
        return comparison_messages(
            self.constitution,
            mode.stage,
            prompt,
            first,
            second,
            principle,
            seed=self.seed,
            prefill=mode.prefill(self),
        )

    def render_score(
        self, prompt: Conversation, response: str, principle: Principle
    ) -> list[dict[str, str]]:
        """The messages of one pointwise call: ``response`` alone under ``principle``."""
        opening = self.constitution.judge.score_prefill if self.model.supports_prefill else None
        return score_messages(self.constitution, prompt, response, principle, prefill=opening)

    async def compare(
        self,
        prompt: Conversation,
        response_1: str,
        response_2: str,
        *,
        pair_id: str | None = None,
        category: str | None = None,
    ) -> Judgment:
        """Judge which response better follows the sampled principle(s); ``category`` (a
        prompt-set category such as ``violence-and-weapons``) picks the principles that fit.

        Returns a :class:`Judgment` whose ``p_response_1`` is the probability that response 1
        is better, or ``None`` with ``error`` stating why (never a guessed side or tie).
        """
        if not prompt:
            raise ConfigError("cannot judge a pair whose prompt has no messages")
        notes: list[str] = []
        shown_1 = self._shorten(response_1, "response 1", notes)
        shown_2 = self._shorten(response_2, "response 2", notes)
        shown_prompt, prompt_note = shorten_conversation(prompt, self.max_prompt_chars)
        notes.extend([prompt_note] if prompt_note else [])
        sides, principles, orders = self._draw(prompt, response_1, response_2, category)
        pair_id = pair_id or pair_key(prompt, response_1, response_2)
        shown = (shown_prompt, shown_1, shown_2)
        planned = (sides, principles, orders)
        mode = self.mode
        judgment = await self._judged_plan(pair_id, shown, planned, mode, notes)
        if self.falls_back and mode.soft and not self.model.supports_choice_logprobs:
            # The judge turned out to return no log-probabilities: every later pair is judged
            # by generate, as auto would have chosen had it known.
            self.mode = JUDGE_MODES["generate"]
            if _refused_scoring(judgment):
                note = f"auto: {self.name} returned no log-probabilities; judged by generate"
                judgment = await self._judged_plan(
                    pair_id, shown, planned, self.mode, [*notes, note]
                )
        if self.position_prior is not None:
            judgment = calibrate_judgment(judgment, self.position_prior)
        return judgment

    async def _judged_plan(
        self,
        pair_id: str,
        shown: tuple[Conversation, str, str],
        planned: tuple[dict[RequestSide, list[Principle]] | None, list[Principle], list[Order]],
        mode: JudgeMode,
        notes: list[str],
    ) -> Judgment:
        """The judgment of one pair: under the request check when the plan has sides (the
        check first, then the sides it weighs; see :mod:`rlaif.judge.request_check`), else
        every planned vote combined."""
        sides, principles, orders = planned
        if sides is None:
            return await self._judged(pair_id, shown, principles, orders, mode, notes)
        check = await check_request(self.model, self.constitution, shown[0])
        harmful = p_harmful(check)
        request_check = self.constitution.judge.request_check
        if harmful is None or request_check is None:
            return check_failed(check, self.name, mode.name, pair_id, notes)
        weights = side_weights(harmful, request_check)
        sided: dict[str, list[str]] = {side: [p.id for p in sides[side]] for side in weights}
        asked = {p.id: p for side in weights for p in sides[side]}
        whole = await self._judged(pair_id, shown, list(asked.values()), orders, mode, [])
        by_side: dict[RequestSide, Judgment] = {}
        for side in weights:
            ids = sided[side]
            votes = [v for v in whole.votes if v.principle in ids]
            by_side[side] = mode.combine(self, Ballot(pair_id, ids, orders, votes))
        return mix_sides(
            by_side,
            weights,
            [check, *whole.votes],
            principles=list(asked),
            sided=sided,
            notes=notes,
        )

    async def _judged(
        self,
        pair_id: str,
        shown: tuple[Conversation, str, str],
        principles: list[Principle],
        orders: list[Order],
        mode: JudgeMode,
        notes: list[str],
    ) -> Judgment:
        """The judgment of one pair in ``mode``: every planned vote, combined."""
        votes = await mode.votes(self, Plan(shown, principles, orders))
        ids = [p.id for p in principles]
        return mode.combine(self, Ballot(pair_id, ids, orders, votes, notes))

    compare_sync = blocking(compare)

    async def compare_many(
        self,
        pairs: Sequence[PairLike],
        *,
        concurrency: int = 8,
        progress: bool = True,
        on_result: Callable[[int, Judgment], None] | None = None,
    ) -> list[Judgment]:
        """Judge many pairs, at most ``concurrency`` at a time; results in input order.

        ``on_result(index, judgment)`` is called as each pair finishes.
        """
        semaphore = asyncio.Semaphore(concurrency)
        results: list[Judgment | None] = [None] * len(pairs)
        with RunProgress(len(pairs), "judging", enabled=progress) as bar:

            async def judge_one(index: int, pair: PairLike) -> None:
                async with semaphore:
                    judgment = await self.compare(
                        pair.prompt,
                        pair.response_1,
                        pair.response_2,
                        pair_id=pair.id,
                        category=pair_category(pair),
                    )
                results[index] = judgment
                bar.add_judgment(judgment)
                bar.advance()
                if on_result is not None:
                    on_result(index, judgment)

            await asyncio.gather(*(judge_one(i, pair) for i, pair in enumerate(pairs)))
        return [r for r in results if r is not None]

    def _shorten(self, text: str, label: str, notes: list[str]) -> str:
        shown, hidden = shorten_text(text, self.max_response_chars)
        if hidden:
            note = f"{label} shortened for the judge: {hidden} of {len(text)} characters hidden"
            notes.append(note)
        return shown


def _refused_scoring(judgment: Judgment) -> bool:
    """Whether a vote failed because the judge cannot score choices."""
    refused = f"{BACKEND_ERROR}{CapabilityError.__name__}"
    return any((v.error or "").startswith(refused) for v in judgment.votes)

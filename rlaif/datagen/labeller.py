"""The units of work and the worker of a labelling run, per strategy and input."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from rlaif.constitution import Constitution
from rlaif.data.jsonl import read_records
from rlaif.data.loaders import load_candidates, load_pairs, load_prompts
from rlaif.data.records import PairRecord, PromptRecord, SFTRecord, SkippedRecord
from rlaif.datagen.label_options import LabelOptions
from rlaif.errors import ConfigError
from rlaif.judge.critic import Critic
from rlaif.judge.judgment import Judgment
from rlaif.judge.pairwise import PairwiseJudge, pair_category
from rlaif.judge.sampling import (
    contrast_details,
    contrast_principle,
    sample_responses,
    steered_response,
)
from rlaif.judge.settings import JudgeSettings
from rlaif.judge.strategies import (
    constructed_preference,
    identical,
    metadata_category,
    pair_indices,
    preference_from_judgment,
    skipped_pair,
    with_category,
)
from rlaif.models import Model
from rlaif.runs import CallFailure, Outputs, RunProgress, Unit, attempt


class Labeller:
    """One labelling run: builds the units of work for the chosen strategy and input, and the
    worker that turns a unit into records."""

    def __init__(
        self,
        options: LabelOptions,
        constitution: Constitution,
        judge_model: Model | None,
        policy_model: Model | None,
        bar: RunProgress,
    ):
        self.options = options
        self.constitution = constitution
        self.policy = policy_model
        self.bar = bar
        self._responses: dict[str, str] = {}
        affixes = options.affixes or constitution.contrast
        self.affixes = (
            affixes.model_copy(update={"form": options.affix_form})
            if options.affix_form
            else affixes
        )
        self.judge: PairwiseJudge | None = None
        needs_judge = options.strategy == "judge" or options.confirm
        if needs_judge and judge_model is not None:
            self.judge = PairwiseJudge.from_settings(
                judge_model,
                constitution,
                JudgeSettings.of(options),
                seed=options.seed,
                max_prompt_chars=options.max_prompt_chars,
            )
        if (
            options.strategy == "contrastive"
            and self.affixes.form != "system"
            and policy_model is not None
            and not policy_model.supports_prefill
        ):
            raise ConfigError(
                f"policy {policy_model.name} cannot continue a prefilled assistant turn; "
                "use --affix-form system"
            )
        self.critic: Critic | None = None
        if options.strategy == "revision" and judge_model is not None:
            self.critic = Critic(
                judge_model,
                constitution,
                rounds=options.rounds,
                seed=options.seed,
                max_tokens=options.critic_max_tokens,
                max_prompt_chars=options.max_prompt_chars,
            )

    # Units -------------------------------------------------------------------------------

    def units(self, source: str) -> list[Unit]:
        """The work for this input, one unit per pair or per prompt."""
        options = self.options
        if source == "pairs":
            pairs = load_pairs(options.pairs)[: options.limit]  # type: ignore[arg-type]
            return [Unit([p.id], p) for p in pairs]
        if source == "sft":
            records = read_records(options.sft, SFTRecord)[: options.limit]  # type: ignore[arg-type]
            return [Unit([r.id], r) for r in records]
        if source == "candidates":
            candidates = load_candidates(options.candidates)[: options.limit]  # type: ignore[arg-type]
            if options.strategy == "revision":
                return [
                    Unit(
                        [c.id],
                        PromptRecord(
                            id=c.id, prompt=c.prompt, category=metadata_category(c.metadata)
                        ),
                    )
                    for c in candidates
                ]
            units = []
            for candidate in candidates:
                for i, j in self._indices(candidate.id, len(candidate.responses)):
                    pair = PairRecord(
                        id=f"{candidate.id}/{i}-{j}",
                        prompt=candidate.prompt,
                        response_1=candidate.responses[i],
                        response_2=candidate.responses[j],
                        metadata=with_category(
                            {
                                "source_id": candidate.id,
                                "indices": [i, j],
                                "policy": candidate.model,
                            },
                            metadata_category(candidate.metadata),
                        ),
                    )
                    units.append(Unit([pair.id], pair))
            self._responses = {c.id: c.responses[0] for c in candidates}
            return units
        prompts = load_prompts(options.prompts)[: options.limit]  # type: ignore[arg-type]
        if options.strategy == "judge":
            n = options.sampling.n
            return [
                Unit([f"{p.id}/{i}-{j}" for i, j in self._indices(p.id, n)], p) for p in prompts
            ]
        return [Unit([p.id], p) for p in prompts]

    def _indices(self, item_id: str, k: int) -> list[tuple[int, int]]:
        rng = random.Random(f"{self.options.seed}:{item_id}")
        return pair_indices(k, self.options.max_pairs_per_prompt, rng)

    # Workers -----------------------------------------------------------------------------

    async def work(self, unit: Unit) -> Outputs:
        """Turn one unit into records."""
        strategy = self.options.strategy
        payload = unit.payload
        if strategy == "judge":
            if isinstance(payload, PairRecord):
                return await self._judge_pairs([payload])
            return await self._judge_prompt(payload)
        if strategy == "revision":
            return await self._revision(payload)
        return await self._contrastive(payload)

    async def _judge_pairs(self, pairs: list[PairRecord]) -> Outputs:
        assert self.judge is not None
        outputs = Outputs()
        for pair in pairs:
            if identical(pair.response_1, pair.response_2):
                outputs.records.append(
                    skipped_pair(pair, "identical: both responses are the same text", "judge")
                )
                continue
            judgment = await self._judged(pair, outputs)
            outputs.records.append(
                preference_from_judgment(
                    pair,
                    judgment,
                    tie_margin=self.options.tie_margin,
                    drop_inconsistent=self.options.drop_inconsistent,
                )
            )
        return outputs

    async def _judged(self, pair: PairRecord, outputs: Outputs) -> Judgment:
        """The judge's verdict on ``pair``, under the principles that fit its prompt (the pair's
        ``metadata["category"]``, else the matcher), counted and added to ``outputs``."""
        assert self.judge is not None
        judgment = await self.judge.compare(
            pair.prompt,
            pair.response_1,
            pair.response_2,
            pair_id=pair.id,
            category=pair_category(pair),
        )
        self.bar.add_judgment(judgment)
        outputs.judgments.append(judgment)
        return judgment

    async def _sample(self, prompt: PromptRecord, n: int) -> list[str] | str:
        """``n`` policy responses, or the failure message."""
        assert self.policy is not None
        settings = self.options.sampling.model_copy(update={"n": n})
        completions = await attempt(
            sample_responses(self.policy, prompt.prompt, prompt.id, settings)
        )
        if isinstance(completions, CallFailure):  # recorded as a skipped item
            return f"failed: sampling from {self.policy.name}: {completions}"
        return [c.text for c in completions]

    async def _judge_prompt(self, prompt: PromptRecord) -> Outputs:
        n = self.options.sampling.n
        responses = await self._sample(prompt, n)
        indices = self._indices(prompt.id, n)
        pairs = [
            PairRecord(
                id=f"{prompt.id}/{i}-{j}",
                prompt=prompt.prompt,
                response_1=responses[i] if isinstance(responses, list) else "",
                response_2=responses[j] if isinstance(responses, list) else "",
                metadata=with_category(
                    {
                        "source_id": prompt.id,
                        "indices": [i, j],
                        "policy": self.policy.name if self.policy else None,
                    },
                    prompt.category,
                ),
            )
            for i, j in indices
        ]
        if isinstance(responses, str):
            return Outputs(records=[skipped_pair(p, responses, "judge") for p in pairs])
        return await self._judge_pairs(pairs)

    async def _initial(self, prompt: PromptRecord) -> str:
        if self.options.candidates is not None:
            return self._responses[prompt.id]
        sampled = await self._sample(prompt, 1)
        if isinstance(sampled, str):
            raise _UnitFailed(sampled)
        return sampled[0]

    async def _revision(self, payload: PromptRecord | SFTRecord) -> Outputs:
        if isinstance(payload, SFTRecord):
            record = payload
            prompt = payload.messages[:-1]
            category = metadata_category(payload.metadata)
        else:
            category = payload.category
            assert self.critic is not None
            prompt = payload.prompt
            try:
                initial = await self._initial(payload)
            except _UnitFailed as failure:
                return Outputs(records=[_skipped_prompt(payload, str(failure), "revision")])
            record = await self.critic.run(
                prompt, initial, prompt_id=payload.id, category=category or None
            )
        final = record.messages[-1]["content"]
        pair = PairRecord(
            id=record.id,
            prompt=prompt,
            response_1=final,
            response_2=record.initial,
            metadata=with_category({}, category),
        )
        metadata = with_category(
            {"critiques": record.critiques, "rounds": record.metadata.get("rounds", [])}, category
        )
        if "error" in record.metadata:
            reason = f"failed: critique-and-revise: {record.metadata['error']}"
            return Outputs(records=[skipped_pair(pair, reason, "revision", metadata=metadata)])
        return await self._constructed(pair, "revision", record.principles, metadata)

    async def _contrastive(self, prompt: PromptRecord) -> Outputs:
        assert self.policy is not None
        principle = contrast_principle(
            self.constitution, prompt.prompt, prompt.id, prompt.category, self.options.seed
        )
        sides = await attempt(  # both sides with the same seed
            asyncio.gather(
                *(
                    steered_response(
                        self.policy,
                        prompt.prompt,
                        prompt.id,
                        principle,
                        self.affixes,
                        self.options.sampling,
                        side,
                    )
                    for side in ("positive", "negative")
                )
            )
        )
        if isinstance(sides, CallFailure):  # recorded as a skipped item
            reason = f"failed: sampling from {self.policy.name}: {sides}"
            return Outputs(records=[_skipped_prompt(prompt, reason, "contrastive")])
        details = contrast_details(principle, self.affixes, sides)
        pair = PairRecord(
            id=prompt.id,
            prompt=prompt.prompt,
            response_1=sides[0][0],
            response_2=sides[1][0],
            metadata=with_category({}, prompt.category),
        )
        return await self._constructed(pair, "contrastive", [principle.id], details)

    async def _constructed(
        self, pair: PairRecord, strategy: str, principles: list[str], metadata: dict[str, Any]
    ) -> Outputs:
        outputs = Outputs()
        metadata = with_category(metadata, metadata_category(pair.metadata))
        judgment = None
        if self.options.confirm and not identical(pair.response_1, pair.response_2):
            judgment = await self._judged(pair, outputs)
        outputs.records.append(
            constructed_preference(
                pair,
                strategy,
                principles,
                metadata,
                judgment=judgment,
                tie_margin=self.options.tie_margin,
                audit=self.options.confirm_mode == "audit",
            )
        )
        return outputs


class _UnitFailed(Exception):
    """A unit could not be built (its reason goes to the skipped file)."""


def _skipped_prompt(prompt: PromptRecord, reason: str, strategy: str) -> SkippedRecord:
    return SkippedRecord(id=prompt.id, prompt=prompt.prompt, reason=reason, strategy=strategy)

"""The loaded, validated constitution: principle sampling and prompt rendering."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from pydantic import PrivateAttr

from rlaif.config import ValidationIssue
from rlaif.constitution.applicability import applicable_principles
from rlaif.constitution.errors import NoApplicablePrincipleError, TemplateVariableError
from rlaif.constitution.schema import (
    STAGES,
    ConstitutionSpec,
    Principle,
    RequestSide,
    Sampling,
)
from rlaif.constitution.templates import (
    TEMPLATE_VARIABLES,
    format_conversation,
    render_template,
    template_hash,
    template_variables,
)
from rlaif.models.types import Conversation


class Constitution(ConstitutionSpec):
    """A constitution with its principles resolved and its templates compiled.

    Build one with :func:`rlaif.load_constitution`; the fields are those of the YAML file
    (see :class:`ConstitutionSpec`), and the methods sample principles and render prompts.
    """

    _source: Path | None = PrivateAttr(default=None)
    _principles: list[Principle] = PrivateAttr(default_factory=list)
    _templates: dict[str, jinja2.Template] = PrivateAttr(default_factory=dict)
    _template_sources: dict[str, str] = PrivateAttr(default_factory=dict)
    _template_names: dict[str, str] = PrivateAttr(default_factory=dict)
    _warnings: list[ValidationIssue] = PrivateAttr(default_factory=list)
    _rng: random.Random = PrivateAttr(default_factory=random.Random)

    def attach(
        self,
        *,
        source: Path | None,
        principles: Sequence[Principle],
        templates: Mapping[str, jinja2.Template],
        template_sources: Mapping[str, str],
        template_names: Mapping[str, str],
        warnings: Sequence[ValidationIssue] = (),
    ) -> None:
        """Attach what the loader resolved (principles, compiled templates, warnings). Loader use
        only."""
        self._source = source
        self._principles = list(principles)
        self._templates = dict(templates)
        self._template_sources = dict(template_sources)
        self._template_names = dict(template_names)
        self._warnings = list(warnings)
        self._rng = random.Random(self.sampling.seed)

    @property
    def source_path(self) -> Path | None:
        """The file this constitution was loaded from."""
        return self._source

    @property
    def warnings(self) -> list[ValidationIssue]:
        """What loaded but is likely not what the author meant, each at its file and line: a
        principle of a file included by path that none of the selectors keep."""
        return list(self._warnings)

    def template_name(self, stage: str) -> str | None:
        """Where the template of ``stage`` came from, as shown to the user (a file, or
        ``FILE#templates.STAGE`` for inline text); ``None`` when the stage has none."""
        return self._template_names.get(stage)

    @property
    def resolved_principles(self) -> list[Principle]:
        """The selected principles, in file order."""
        return list(self._principles)

    def principle(self, principle_id: str) -> Principle:
        """The selected principle with this id."""
        for principle in self._principles:
            if principle.id == principle_id:
                return principle
        raise KeyError(f"principle {principle_id!r} is not part of constitution {self.name!r}")

    def eligible(self, stage: str = "compare") -> list[Principle]:
        """Principles usable for ``stage``: comparison stages need a ``compare`` question."""
        if stage in ("compare", "compare_cot"):
            return [p for p in self._principles if p.compare is not None]
        return list(self._principles)

    def with_sampling(self, **changes: Any) -> Constitution:
        """A copy with some ``sampling`` settings changed (validated like the YAML keys), e.g.
        ``constitution.with_sampling(strategy="uniform")`` to ignore which principles fit the
        prompt. The copy's own generator is seeded afresh from its ``sampling.seed``."""
        sampling = Sampling.model_validate({**self.sampling.model_dump(), **changes})
        copy = self.model_copy(update={"sampling": sampling})
        copy._rng = random.Random(sampling.seed)
        return copy

    def pool(
        self,
        stage: str = "compare",
        *,
        prompt: Conversation | str | None = None,
        category: str | None = None,
        side: RequestSide | None = None,
    ) -> list[Principle]:
        """The principles :meth:`sample` draws from for this prompt, in file order (only those
        that judge ``side``'s requests, ``when`` it or ``any``, when ``side`` is given).

        With ``sampling.strategy: uniform``: every principle usable for ``stage``, whatever the
        prompt. With ``matched`` (the default): those of them that are general, plus the category
        principles that apply to the prompt, by ``category`` when it is given and known (or
        ``benign*``), else by the keyword matcher on ``prompt``'s user turns (see
        :mod:`rlaif.constitution.applicability`). Without ``prompt`` and ``category`` (callers
        that know nothing about the prompt) only the general principles are in the pool.
        """
        eligible = self.eligible(stage)
        if side is not None:
            eligible = [p for p in eligible if p.side in (side, "any")]
        if self.sampling.strategy == "uniform":
            return eligible
        fitting = {p.id for p in applicable_principles(self._principles, prompt, category)}
        return [p for p in eligible if p.id in fitting]

    def sample(
        self,
        k: int | None = None,
        rng: random.Random | None = None,
        *,
        stage: str = "compare",
        prompt: Conversation | str | None = None,
        category: str | None = None,
        side: RequestSide | None = None,
    ) -> list[Principle]:
        """Draw ``k`` distinct principles for ``stage`` (default: ``sampling.per_example`` for
        comparisons, 1 for critique/revision), weighted by ``weight`` unless sampling says not,
        from :meth:`pool` (the principles that fit ``prompt``/``category``).

        ``k`` larger than the principles usable for ``stage`` is an error. In ``matched`` mode,
        when fewer than ``k`` principles fit the prompt, all of those are returned (in drawn
        order) rather than padding with principles that do not fit; when none fits (a
        constitution without general principles and a prompt outside all its categories),
        :class:`NoApplicablePrincipleError` says so. ``uniform`` mode ignores the prompt and
        draws exactly as before ``applies_to`` existed.

        ``side`` keeps only the principles that judge that side's requests (see :meth:`pool`).
        ``rng`` defaults to the constitution's own generator, seeded by ``sampling.seed``.
        """
        eligible = self.eligible(stage)
        if k is None:
            k = self.sampling.per_example if stage in ("compare", "compare_cot") else 1
        if not 1 <= k <= len(eligible):
            raise ValueError(f"cannot sample {k} of {len(eligible)} principles for stage {stage!r}")
        pool = self.pool(stage, prompt=prompt, category=category, side=side)
        if not pool:
            raise NoApplicablePrincipleError(
                f"no principle of constitution {self.name!r} fits this prompt"
                + (f" (category {category!r})" if category else "")
                + " and it has no general principle for stage "
                + f"{stage!r}; add a general principle (one without applies_to) or set "
                "sampling.strategy: uniform"
            )
        k = min(k, len(pool))
        generator = rng if rng is not None else self._rng
        if not self.sampling.weighted:
            return generator.sample(pool, k)
        # Weighted sampling without replacement (Efraimidis-Spirakis keys).
        keyed = sorted(pool, key=lambda p: generator.random() ** (1.0 / p.weight), reverse=True)
        return keyed[:k]

    def render(self, stage: str, **variables: Any) -> str:
        """Render the ``stage`` template (critique, revision, compare, compare_cot).

        ``principle`` may be a :class:`Principle` or an id. ``request``/``question`` default to the
        principle's own text and ``conversation`` to the formatted ``prompt``; any other variable
        the template uses must be given, or :class:`TemplateVariableError` names it.
        """
        if stage not in STAGES:
            raise TemplateVariableError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        values = self._with_defaults(stage, variables)
        return render_template(self._templates[stage], stage, self._template_names[stage], values)

    def messages(self, stage: str, **variables: Any) -> list[dict[str, str]]:
        """The chat messages for ``stage``: system prompt, few-shot conversations, then the
        rendered request as the final user turn."""
        messages: list[dict[str, str]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        for conversation in self.few_shot.for_stage(stage):
            messages.extend(dict(m) for m in conversation)
        messages.append({"role": "user", "content": self.render(stage, **variables)})
        return messages

    def _with_defaults(self, stage: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(variables)
        principle = values.get("principle")
        if isinstance(principle, str):
            principle = values["principle"] = self.principle(principle)
        if isinstance(principle, Principle):
            if stage in ("critique", "revision"):
                request = principle.critique if stage == "critique" else principle.revision
                values.setdefault("request", request)
            elif stage == "score":
                values.setdefault("question", principle.score)
            else:
                values.setdefault("question", principle.compare)
        if "prompt" in values and "conversation" not in values:
            prompt = values["prompt"]
            values["conversation"] = (
                prompt if isinstance(prompt, str) else format_conversation(prompt)
            )
        return values

    def template_source(self, stage: str) -> str:
        """The Jinja source of the ``stage`` template."""
        return self._template_sources[stage]

    def template_hashes(self) -> dict[str, str]:
        """Content hash of each template, for dataset manifests."""
        return {stage: template_hash(src) for stage, src in self._template_sources.items()}

    def provenance(self) -> dict[str, Any]:
        """Name, version, content hash and template hashes, as dataset manifests record them."""
        return {
            "name": self.name,
            "version": self.version,
            "hash": self.content_hash(),
            "templates": self.template_hashes(),
        }

    def content_hash(self) -> str:
        """Hash of everything that shapes prompts: settings, principle texts and templates."""
        score = self._template_sources.get("score")
        asked = score is not None and "question" in template_variables(score)
        unread = None if asked else {"score"}  # a question no template asks shapes no prompt
        payload = {
            "spec": self.model_dump(mode="json"),
            "principles": [p.model_dump(mode="json", exclude=unread) for p in self._principles],
            "templates": self._template_sources,
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(encoded).hexdigest()[:16]

    @staticmethod
    def documented_variables(stage: str) -> dict[str, str]:
        """The variables a template of ``stage`` may use, with their meaning."""
        return dict(TEMPLATE_VARIABLES[stage])

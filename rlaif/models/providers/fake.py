"""A deterministic scripted backend for tests and demos, registered as ``fake/<script>``.

Named scripts: ``fake/echo`` (repeats the last user turn), ``fake/refuse`` (always declines),
``fake/prefer-first`` and ``fake/prefer-second`` (judges that always pick A or B). Any other name
takes its behaviour from options:

- ``outputs``: a list (returned in order, cycling), a mapping from a substring of the
  conversation to the output (first match wins, else ``default``), or a callable
  ``(conversation, config) -> str``.
- ``choice_probs``: a mapping ``choice -> probability`` or a callable
  ``(conversation, choices) -> {choice: probability}``; default uniform.
- ``fail``: exceptions raised by the first calls, in order (to test retries).
- ``latency_s``: seconds each call sleeps (to test concurrency).

Every call is recorded in ``backend.calls``. Unlike the other backends, fake models do not use
the response cache unless the spec asks for it (``cache=True``).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlaif.models.base import Backend, BackendError
from rlaif.models.registry import register_backend
from rlaif.models.types import Completion, Conversation, GenerateConfig

_NAMED_OUTPUTS: dict[str, Any] = {
    "echo": lambda conversation, config: next(
        (m["content"] for m in reversed(conversation) if m["role"] == "user"), ""
    ),
    "refuse": ["I'm sorry, but I can't help with that."],
    "prefer-first": ["A"],
    "prefer-second": ["B"],
}
_NAMED_PROBS: dict[str, dict[str, float]] = {
    "prefer-first": {"A": 0.9, "B": 0.1},
    "prefer-second": {"A": 0.1, "B": 0.9},
}


@dataclass
class FakeCall:
    """One recorded call to the fake backend."""

    kind: str
    conversation: Conversation
    config: GenerateConfig | None = None
    choices: tuple[str, ...] = ()


def _code_bytes(code: types.CodeType) -> bytes:
    """The bytecode and constants of ``code``, nested code objects (comprehensions, lambdas)
    included by their own bytes: their repr holds a memory address that changes every run."""
    parts = [code.co_code]
    for const in code.co_consts:
        parts.append(
            _code_bytes(const) if isinstance(const, types.CodeType) else repr(const).encode()
        )
    return b"\x00".join(parts)


def _describe(script: Any) -> str:
    """A stable description of a script: its repr, or for a function its name and code (a
    repr would hold a memory address that changes every run)."""
    code = getattr(script, "__code__", None)
    if code is None:
        return repr(script)
    digest = hashlib.sha256(_code_bytes(code)).hexdigest()[:16]
    return f"{script.__module__}.{script.__qualname__}:{digest}"


def conversation_text(conversation: Conversation) -> str:
    """All turns joined, for substring matching."""
    return "\n".join(m["content"] for m in conversation)


@register_backend("fake")
class FakeBackend(Backend):
    """Scripted, deterministic backend; see the module docstring for the options."""

    supports_choice_logprobs = True
    runs_locally = True
    supports_json_schema = True
    # Scripts that cycle through outputs would be frozen by a cache; ask for it with cache=True.
    caches_by_default = False
    runtime_options = frozenset({"latency_s"})

    def __init__(
        self,
        model: str,
        *,
        outputs: Sequence[str] | Mapping[str, str] | Callable[..., str] | None = None,
        default: str | None = None,
        choice_probs: Mapping[str, float] | Callable[..., Mapping[str, float]] | None = None,
        fail: Sequence[BaseException] = (),
        latency_s: float = 0.0,
        **options: Any,
    ):
        super().__init__(model, **options)
        self.outputs = outputs if outputs is not None else _NAMED_OUTPUTS.get(model)
        self.default = default
        self.choice_probs = choice_probs if choice_probs is not None else _NAMED_PROBS.get(model)
        self.failures: Iterator[BaseException] = iter(list(fail))
        self.latency_s = latency_s
        self.calls: list[FakeCall] = []
        self._cycle: Iterator[str] | None = None
        if isinstance(self.outputs, list | tuple):
            self._cycle = itertools.cycle(list(self.outputs))

    def cache_identity(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "script": _describe(self.outputs),
            "default": self.default,
            "choice_probs": _describe(self.choice_probs),
        }

    async def _begin(self) -> None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        failure = next(self.failures, None)
        if failure is not None:
            raise failure

    async def generate(self, conversation: Conversation, config: GenerateConfig) -> Completion:
        self.calls.append(FakeCall("generate", list(conversation), config))
        await self._begin()
        text = self._output(conversation, config)
        words_in = len(conversation_text(conversation).split())
        words_out = len(text.split())
        finish = "stop"
        if words_out > config.max_tokens:
            text, words_out, finish = (
                " ".join(text.split()[: config.max_tokens]),
                config.max_tokens,
                "length",
            )
        return Completion(
            text=text,
            input_tokens=words_in,
            output_tokens=words_out,
            finish_reason=finish,
            latency_s=self.latency_s,
            model=self.name,
        )

    def _output(self, conversation: Conversation, config: GenerateConfig) -> str:
        if self._cycle is not None:
            return next(self._cycle)
        if callable(self.outputs):
            return str(self.outputs(conversation, config))
        if isinstance(self.outputs, Mapping):
            text = conversation_text(conversation)
            for needle, output in self.outputs.items():
                if needle in text:
                    return output
        if self.default is not None:
            return self.default
        raise BackendError(f"{self.name}: no scripted output for this conversation")

    async def choice_logprobs(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        self.calls.append(FakeCall("choice_logprobs", list(conversation), choices=tuple(choices)))
        await self._begin()
        if callable(self.choice_probs):
            probs = dict(self.choice_probs(conversation, choices))
        elif self.choice_probs is not None:
            probs = dict(self.choice_probs)
        else:
            probs = {choice: 1.0 for choice in choices}
        raw = {c: max(float(probs.get(c, 0.0)), 1e-12) for c in choices}
        # Log-probabilities of a normalised distribution over the offered choices.
        total = sum(raw.values())
        return {c: math.log(p / total) for c, p in raw.items()}

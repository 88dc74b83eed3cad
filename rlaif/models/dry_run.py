"""Dry runs: the calls, tokens, time and US dollars a job would spend, before it spends them.

Inside :func:`estimating` every :class:`~rlaif.models.Model` answers a request that is not in the
response cache with a stand-in instead of calling its backend, and counts it: the job runs to
its end as it would (resumed items and cached calls cost nothing, as in the real run), and the
:class:`CallEstimator` then holds what the real run would send. Nothing is cached or journalled.

The figures are upper bounds where the answer is unknown:

- a generation is taken to write its whole ``max_tokens`` (its stand-in text is that long, so
  the calls that read it, a revision after a critique, are counted at that length too);
- a scored verdict is taken to be a tie (equal log-probabilities), so a judge that spends extra
  calls on uncertain verdicts (``cot_band``) is counted as spending them everywhere.

Input tokens are counted with the model's own tokenizer and chat template for local ``hf/``
models, else estimated as characters / 4 (plus 4 a message). Time, rough: for a local model,
the prompt tokens at the prompt throughput measured on the machine with one short probe, plus
every generated token at the measured decoding rate, batched where the job has enough
independent generations to fill batches (:data:`BATCHES_TO_FILL`), one sequence at a time
otherwise (a critique's chain of response, critique and revision cannot be batched across its
steps); for an API model,
:data:`API_SECONDS_PER_CALL` a call with ``max_concurrency`` in flight (and no faster than its
token and request limits allow). Dollars at synchronous and at batch prices
(:meth:`~rlaif.models.ModelSpec.cost`).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from rlaif.models.base import Backend
from rlaif.models.spec import ModelSpec
from rlaif.models.types import ChoiceScores, Completion, Conversation, GenerateConfig


class Model(Protocol):
    """What a dry run reads of a :class:`rlaif.models.Model` (which imports this module)."""

    @property
    def name(self) -> str: ...

    spec: ModelSpec
    limiter: Any

    @property
    def backend(self) -> Backend | None:
        """``None`` for a model planned from its spec alone (no API key yet)."""


API_SECONDS_PER_CALL = 1.0
"""The latency a dry run assumes for one call to an API model."""
CHARS_PER_TOKEN = 4
"""Characters a token, for models without a local tokenizer."""


@dataclass
class ModelEstimate:
    """What one model would be asked: the fields of one row of a dry run's table."""

    model: str
    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    generate_calls: int = 0
    seconds: float | None = None
    usd: float | None = None
    usd_batch: float | None = None
    time_basis: str = ""


@dataclass
class CallEstimator:
    """Counts the calls models would make (see the module docstring)."""

    models: dict[str, ModelEstimate] = field(default_factory=dict)
    _owners: dict[str, Model] = field(default_factory=dict)

    def _row(self, model: Model) -> ModelEstimate:
        self._owners.setdefault(model.name, model)
        return self.models.setdefault(model.name, ModelEstimate(model.name))

    def cached(self, model: Model) -> None:
        """Count a call the response cache would answer."""
        self._row(model).cached += 1

    def generate(
        self, model: Model, conversation: Conversation, config: GenerateConfig
    ) -> Completion:
        """Count a generation and return its stand-in (``max_tokens`` long)."""
        row = self._row(model)
        tokens = count_tokens(model, conversation)
        row.calls += 1
        row.generate_calls += 1
        row.input_tokens += tokens
        row.output_tokens += config.max_tokens
        text = "A" + " A" * max(0, config.max_tokens - 1)
        return Completion(
            text=text, input_tokens=tokens, output_tokens=config.max_tokens, model=model.name
        )

    def score(
        self, model: Model, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        """Count a scored verdict and return its stand-in (every choice equally likely)."""
        row = self._row(model)
        tokens = count_tokens(model, conversation)
        row.calls += 1
        row.input_tokens += tokens
        row.output_tokens += 1
        even = -math.log(len(choices))
        return ChoiceScores(
            logprobs={choice: even for choice in choices},
            input_tokens=tokens,
            output_tokens=1,
            model=model.name,
        )

    def planned(
        self, model: Model, *, calls: int, input_tokens: int, output_tokens: int, generates: bool
    ) -> None:
        """Count ``calls`` known from a plan rather than made against stand-ins (``rlaif run
        --dry-run``), with their tokens in all."""
        row = self._row(model)
        row.calls += calls
        row.generate_calls += calls if generates else 0
        row.input_tokens += input_tokens
        row.output_tokens += output_tokens

    def finish(self) -> list[ModelEstimate]:
        """The rows, with time and dollars filled in."""
        for name, row in self.models.items():
            model = self._owners[name]
            spec = model.spec
            row.usd = spec.cost(row.input_tokens, row.output_tokens)
            row.usd_batch = spec.cost(row.input_tokens, row.output_tokens, batch=True)
            row.seconds, row.time_basis = _seconds(model, row)
        return list(self.models.values())


_CURRENT: contextvars.ContextVar[CallEstimator | None] = contextvars.ContextVar(
    "rlaif_estimator", default=None
)


def current_estimator() -> CallEstimator | None:
    """The estimator of the dry run in progress, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def estimating() -> Iterator[CallEstimator]:
    """Run the body as a dry run: models count their uncached calls instead of making them."""
    estimator = CallEstimator()
    token = _CURRENT.set(estimator)
    try:
        yield estimator
    finally:
        _CURRENT.reset(token)


def count_tokens(model: Model, conversation: Conversation) -> int:
    """Prompt tokens of ``conversation`` for ``model``: its backend's own count where it has one
    (``prompt_tokens``: the chat template of a local ``hf/`` model), else characters /
    :data:`CHARS_PER_TOKEN` plus 4 a message."""
    counter = getattr(model.backend, "prompt_tokens", None)
    if counter is not None:
        return int(counter(conversation))
    return characters_tokens(conversation)


def characters_tokens(conversation: Conversation) -> int:
    """Prompt tokens estimated without a tokenizer: characters / :data:`CHARS_PER_TOKEN` plus 4
    a message."""
    characters = sum(len(str(message.get("content", ""))) for message in conversation)
    return math.ceil(characters / CHARS_PER_TOKEN) + 4 * len(conversation)


@dataclass(frozen=True)
class Throughput:
    """What a local model does on this machine, from one short probe."""

    prompt_tokens_per_s: float
    """Prompt tokens read a second (a scored batch)."""
    decode_tokens_per_s: float
    """Tokens written a second decoding one sequence alone."""
    batch: int = 1
    """Sequences decoded together in the batched probe."""
    batch_decode_tokens_per_s: float | None = None
    """Tokens written a second, all ``batch`` sequences together."""


BATCHES_TO_FILL = 4
"""A job with at least this many batches' worth of generations is taken to decode in full
batches (its prompts are independent); a smaller one, one sequence at a time (a critique's
chain of response, critique and revision cannot be batched across its steps)."""

_THROUGHPUT: dict[str, Throughput] = {}
"""Measured per local model, once a process."""


def _seconds(model: Model, row: ModelEstimate) -> tuple[float | None, str]:
    if row.calls == 0:
        return 0.0, "nothing to call"
    probe = getattr(model.backend, "measure_throughput", None)
    if probe is not None:
        if model.name not in _THROUGHPUT:
            try:
                _THROUGHPUT[model.name] = probe()
            except Exception as error:  # weights or device not here: no clock, said so
                return None, f"not measured: {model.name} does not run here ({_first_line(error)})"
        measured = _THROUGHPUT[model.name]
        generated = row.output_tokens - (row.calls - row.generate_calls)
        batched = measured.batch_decode_tokens_per_s
        if (
            batched
            and measured.batch > 1
            and row.generate_calls >= BATCHES_TO_FILL * measured.batch
        ):
            rate, decoding = batched, f"decoding {measured.batch} sequences together"
        else:
            rate, decoding = measured.decode_tokens_per_s, "decoding one sequence at a time"
        seconds = row.input_tokens / measured.prompt_tokens_per_s + generated / rate
        basis = (
            f"measured here: {measured.prompt_tokens_per_s:.0f} prompt tokens/s, "
            f"{rate:.1f} tokens/s {decoding}"
        )
        return seconds, basis
    in_flight = model.limiter.maximum
    seconds = row.calls * API_SECONDS_PER_CALL / max(in_flight, 1)
    spec = model.spec
    if spec.requests_per_minute:
        seconds = max(seconds, 60 * row.calls / spec.requests_per_minute)
    if spec.tokens_per_minute:
        seconds = max(seconds, 60 * (row.input_tokens + row.output_tokens) / spec.tokens_per_minute)
    return seconds, f"assumed {API_SECONDS_PER_CALL:.0f} s a call, {in_flight} in flight"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def estimate_table(rows: Sequence[ModelEstimate]) -> list[dict[str, Any]]:
    """The rows as plain data (what a dry run writes to ``<out>.estimate.json``)."""
    return [asdict(row) for row in rows]


def estimate_against_usage(
    rows: Sequence[dict[str, Any]], usage: dict[str, float], *, tokens: str = "upper bound"
) -> str:
    """One line: a dry run's ``rows`` (:func:`estimate_table`) against the ``usage`` the runs
    since spent (``calls`` including ``cache_hits``, ``input_tokens``, ``output_tokens``,
    ``cost_usd``); ``tokens`` says what the estimated tokens are."""
    calls = sum(int(row.get("calls", 0)) for row in rows)
    estimated = sum(
        int(row.get("input_tokens", 0)) + int(row.get("output_tokens", 0)) for row in rows
    )
    usd = [float(row["usd"]) for row in rows if row.get("usd") is not None]
    hits = int(usage.get("cache_hits", 0))
    sent = int(usage.get("calls", 0)) - hits
    spent = int(usage.get("input_tokens", 0) + usage.get("output_tokens", 0))
    cached = f" (+{hits} from the cache)" if hits else ""
    line = (
        f"estimate vs actual: calls {calls} vs {sent}{cached}, "
        f"tokens {estimated} ({tokens}) vs {spent}"
    )
    if usd:
        line += f", ${sum(usd):.4f} vs ${usage.get('cost_usd', 0.0):.4f}"
    return line

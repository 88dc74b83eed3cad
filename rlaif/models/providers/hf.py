"""``hf/<name>``: a local transformers causal language model.

Chat templates from the tokenizer; a final assistant turn is continued (prefill). Requests that
arrive concurrently are batched with left padding (:mod:`rlaif.models.local.batching`).
``choice_logprobs`` keeps only the logits of the positions that predict the choice tokens (for
single-token choices: the last position only), never the full vocabulary at every position.
Loading is lazy (first call) and takes safetensors only; ``trust_remote_code`` is off unless set.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Hashable, Sequence
from typing import Any, cast

from rlaif.errors import ConfigError
from rlaif.models.base import Backend
from rlaif.models.dry_run import Throughput
from rlaif.models.local import (
    MicroBatcher,
    ModelSource,
    ScoringStats,
    common_prefix_length,
    generate_on_shared_prefix,
    load_inference_lm,
    resolve,
    score_batch,
    select_device,
    select_dtype,
    worth_sharing,
)
from rlaif.models.registry import register_backend
from rlaif.models.types import ChoiceScores, Completion, Conversation, GenerateConfig


@register_backend("hf")
class HFBackend(Backend):
    """A transformers causal LM served in-process.

    Options: ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``), ``dtype`` (``auto``:
    bf16 where supported, else fp32; or ``float32``, ``bfloat16``, ``float16``),
    ``max_batch_size`` (16), ``trust_remote_code`` (False), ``revision`` (hub models),
    ``prefix_reuse`` (True: prompts of a batch that share a token prefix compute it once, see
    :mod:`rlaif.models.local.prefix_scoring` and, for generation,
    :mod:`rlaif.models.local.prefix_generation`; ``False`` runs every prompt in full)."""

    supports_choice_logprobs = True
    runs_locally = True
    supports_prefill = True
    default_max_concurrency = 64
    runtime_options = frozenset({"max_batch_size", "prefix_reuse"})

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        max_batch_size: int = 16,
        trust_remote_code: bool = False,
        revision: str | None = None,
        prefix_reuse: bool = True,
        **options: Any,
    ):
        self.reject_unknown_options(model, options)
        super().__init__(model)
        self.device = select_device(device)
        self.dtype = select_dtype(dtype, self.device)
        self.trust_remote_code = trust_remote_code
        self.revision = revision
        if not isinstance(prefix_reuse, bool):
            raise ConfigError(f"{model}: prefix_reuse must be true or false, not {prefix_reuse!r}")
        self.prefix_reuse = prefix_reuse
        self.scoring = ScoringStats()
        """What ``score_choices`` has computed (tokens, forward passes)."""
        self.batcher: MicroBatcher[Any, Any] = MicroBatcher(self._run_batch, max_batch_size)
        self._source: ModelSource | None = None
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def source(self) -> ModelSource:
        """Where the weights come from (converting an embedded or GGUF model on first use)."""
        with self._lock:
            if self._source is None:
                self._source = resolve(self.model, progress=_log_step)
            return self._source

    def cache_identity(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "weights": self.source().fingerprint,
            "revision": self.revision,
            "dtype": self.dtype,
        }

    def load(self) -> tuple[Any, Any]:
        """``(model, tokenizer)``, loading them on first use."""
        source = self.source()
        with self._lock:
            if self._loaded is None:
                self._loaded = load_inference_lm(
                    source,
                    device=self.device,
                    dtype=self.dtype,
                    trust_remote_code=self.trust_remote_code,
                    revision=self.revision,
                )
            return self._loaded

    async def generate(self, conversation: Conversation, config: GenerateConfig) -> Completion:
        # Requests that differ only by their seed share a batch: greedy ones ignore it, and a
        # sampled batch is seeded from its rows' seeds (batch_seed), so K seeded samples of a
        # prompt decode together instead of one after another.
        seed = None if config.temperature == 0 else config.seed
        group = ("generate", config.model_copy(update={"seed": None}).model_dump_json())
        result: Completion = await self.batcher.submit(group, (conversation, seed))
        return result.model_copy()

    async def score_choices(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        result: ChoiceScores = await self.batcher.submit(("choices", tuple(choices)), conversation)
        return result.model_copy()

    async def choice_logprobs(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> dict[str, float]:
        return (await self.score_choices(conversation, choices)).logprobs

    async def aclose(self) -> None:
        with self._lock:
            self._loaded = None

    def prompt_tokens(self, conversation: Conversation) -> int:
        """Tokens of ``conversation`` under the chat template (what a dry run counts)."""
        _, tokenizer = self.load()
        return len(
            tokenizer.encode(render_prompt(tokenizer, conversation), add_special_tokens=False)
        )

    def measure_throughput(self) -> Throughput:
        """A dry run's clock, on this machine: one scored batch of prompts of about 256 tokens,
        8 greedy decoding steps of one prompt alone, and 8 of a batch of prompts together."""
        model, tokenizer = self.load()
        batch = max(1, min(8, self.batcher.max_batch_size))
        ids = tokenizer.encode("The assistant is helpful and harmless. " * 40)[:256]
        prompt = tokenizer.decode(ids)
        score_batch(model, tokenizer, [prompt[:64]], ["A"])  # warm-up
        start = time.perf_counter()
        scored = score_batch(model, tokenizer, [prompt] * batch, ["A"])
        prompt_rate = sum(s.input_tokens for s in scored) / (time.perf_counter() - start)
        rates = []
        for prompts in (["Hello"], [f"Hello {n}" for n in range(batch)]):
            start = time.perf_counter()
            done = generate_batch(model, tokenizer, prompts, GenerateConfig(max_tokens=8))
            written = max(1, sum(d.output_tokens for d in done))
            rates.append(written / (time.perf_counter() - start))
        return Throughput(prompt_rate, rates[0], batch, rates[1])

    # The methods below run in the batcher's worker thread.

    def _run_batch(
        self, group: Hashable, items: list[Any]
    ) -> list[Completion | ChoiceScores | BaseException]:
        kind, argument = cast(tuple[str, Any], group)
        seeds: list[int | None] = []
        conversations: list[Conversation] = items
        if kind == "generate":
            conversations, seeds = [c for c, _ in items], [s for _, s in items]
        model, tokenizer = self.load()
        prompts: list[str | BaseException] = []
        for conversation in conversations:
            try:
                prompts.append(render_prompt(tokenizer, conversation))
            except Exception as error:
                prompts.append(ConfigError(f"cannot apply the chat template: {error}"))
        texts = [p for p in prompts if isinstance(p, str)]
        done: list[Any] = []
        if texts:
            if kind == "generate":
                seed = batch_seed(
                    [s for s, p in zip(seeds, prompts, strict=True) if isinstance(p, str)]
                )
                config = GenerateConfig.model_validate_json(argument).model_copy(
                    update={"seed": seed}
                )
                done = generate_batch(
                    model, tokenizer, texts, config, prefix_reuse=self.prefix_reuse
                )
            else:
                done = score_batch(
                    model,
                    tokenizer,
                    texts,
                    list(argument),
                    prefix_reuse=self.prefix_reuse,
                    stats=self.scoring,
                )
        results = iter(done)
        return [p if isinstance(p, BaseException) else next(results) for p in prompts]


def batch_seed(seeds: list[int | None]) -> int | None:
    """One seed for a sampled batch, from its rows' seeds in order (None when no row has one): a
    seeded request gives the same text whenever it meets the same batch, and the response cache,
    whose key holds each request's own seed, gives it back on every rerun."""
    if all(seed is None for seed in seeds):
        return None
    digest = hashlib.sha256(repr(seeds).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _log_step(line: str) -> None:
    import sys

    print(f"[rlaif] {line}", file=sys.stderr, flush=True)


def render_prompt(tokenizer: Any, conversation: Conversation) -> str:
    """The chat-template text for ``conversation``; a final assistant turn is left open."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("the tokenizer has no chat template")
    prefill = conversation[-1]["role"] == "assistant"
    return str(
        tokenizer.apply_chat_template(
            conversation,
            tokenize=False,
            add_generation_prompt=not prefill,
            continue_final_message=prefill,
        )
    )


def _encode(model: Any, tokenizer: Any, texts: list[str]) -> Any:
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    return batch.to(model.device)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    configured = model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, list) else [configured])
    ids.add(tokenizer.eos_token_id)
    return {i for i in ids if i is not None}


def generate_batch(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    config: GenerateConfig,
    *,
    prefix_reuse: bool = False,
) -> list[Completion]:
    """Generate for every prompt text at once (left-padded); greedy when temperature is 0. With
    ``prefix_reuse``, the token prefix every prompt starts with is run once
    (:mod:`rlaif.models.local.prefix_generation`)."""
    import torch
    from transformers import GenerationConfig

    eos = _eos_ids(model, tokenizer)
    settings: dict[str, Any] = {
        "max_new_tokens": config.max_tokens,
        "do_sample": config.temperature > 0,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": sorted(eos),
        # Plain decoding whatever the model's own generation_config suggests.
        "repetition_penalty": 1.0,
    }
    if config.temperature > 0:
        settings.update(temperature=config.temperature, top_p=config.top_p, top_k=0)
    if config.stop:
        settings["stop_strings"] = list(config.stop)
    if config.seed is not None:
        torch.manual_seed(config.seed)
    extra = {"tokenizer": tokenizer if config.stop else None}
    sequences = (
        [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
        if prefix_reuse
        else []
    )
    shared = common_prefix_length(sequences)
    start = time.perf_counter()
    if prefix_reuse and worth_sharing(model, sequences, shared):
        output, prompt_width = generate_on_shared_prefix(
            model, sequences, shared, tokenizer.pad_token_id, GenerationConfig(**settings), **extra
        )
        prompt_tokens = [len(sequence) for sequence in sequences]
    else:
        batch = _encode(model, tokenizer, texts)
        with torch.inference_mode():
            output = model.generate(
                **batch, generation_config=GenerationConfig(**settings), **extra
            )
        prompt_width = batch["input_ids"].shape[1]
        prompt_tokens = [int(mask.sum()) for mask in batch["attention_mask"]]
    elapsed = time.perf_counter() - start
    completions = []
    for row, used_prompt in zip(output, prompt_tokens, strict=True):
        new_tokens = row[prompt_width:].tolist()
        text, used, finish = _finish(tokenizer, new_tokens, eos, config)
        completions.append(
            Completion(
                text=text,
                input_tokens=used_prompt,
                output_tokens=used,
                finish_reason=finish,
                latency_s=elapsed,
            )
        )
    return completions


def _finish(
    tokenizer: Any, tokens: list[int], eos: set[int], config: GenerateConfig
) -> tuple[str, int, Any]:
    """Text, tokens generated and finish reason for one row of a batch."""
    end = next((i for i, token in enumerate(tokens) if token in eos), None)
    if end is not None:
        text = tokenizer.decode(tokens[:end], skip_special_tokens=True)
        used, finish = end + 1, "stop"
    else:
        text = tokenizer.decode(tokens, skip_special_tokens=True)
        used, finish = len(tokens), "length" if len(tokens) >= config.max_tokens else "stop"
    cuts = [text.find(stop) for stop in config.stop if stop and stop in text]
    if cuts:
        text, finish = text[: min(cuts)], "stop"
    return text, used, finish

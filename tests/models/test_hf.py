"""The hf backend on a tiny random model built in the test: batching, choice scoring, prefill,
stop strings, dtype selection, safetensors only."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import torch

from rlaif.errors import ConfigError
from rlaif.models import GenerateConfig, get_model
from rlaif.models.local.gguf import ModelSourceError
from rlaif.models.local.loading import select_dtype
from rlaif.models.providers.hf import render_prompt

PROMPTS = [
    [{"role": "user", "content": text}]
    for text in (
        "How do I kill a Python process?",
        "Sure",
        "Which response is less harmful? Answer with a single letter: A or B.",
        "abc",
        "The assistant should be helpful, honest and harmless.",
        "I'm sorry",
    )
]


def tiny(folder: Path, **options):
    return get_model(f"hf/{folder}", dtype="float32", cache=False, **options)


def test_concurrent_requests_are_batched_and_match_one_by_one(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    config = GenerateConfig(max_tokens=10)

    async def together():
        return await asyncio.gather(*(model.generate(p, config) for p in PROMPTS))

    batched = asyncio.run(together())
    assert max(model.backend.batcher.batch_sizes) > 1
    single = [model.generate_sync(p, config) for p in PROMPTS]
    assert model.backend.batcher.batch_sizes[-len(PROMPTS) :] == [1] * len(PROMPTS)
    assert len({c.text for c in single}) > 1, "the fixture model must answer prompts differently"
    for one, many in zip(single, batched, strict=True):
        assert (many.text, many.output_tokens, many.input_tokens, many.finish_reason) == (
            one.text,
            one.output_tokens,
            one.input_tokens,
            one.finish_reason,
        )


def test_requests_share_a_batch_whatever_their_seed(tiny_model: Path) -> None:
    """Per-prompt seeds (as sampled jobs give every request) change nothing in greedy decoding,
    so they must not split a batch; sampled requests that differ only by their seed share one
    too, seeded from their seeds: the same batch samples the same texts again."""
    model = tiny(tiny_model)

    async def together(temperature: float):
        configs = [
            GenerateConfig(max_tokens=4, temperature=temperature, seed=index)
            for index in range(len(PROMPTS))
        ]
        calls = (model.generate(p, c) for p, c in zip(PROMPTS, configs, strict=True))
        return await asyncio.gather(*calls)

    greedy = asyncio.run(together(0.0))
    assert model.backend.batcher.batch_sizes[-1] == len(PROMPTS)
    assert [c.text for c in greedy] == [
        model.generate_sync(p, GenerateConfig(max_tokens=4)).text for p in PROMPTS
    ]
    sampled = [c.text for c in asyncio.run(together(1.0))]
    assert model.backend.batcher.batch_sizes[-1] == len(PROMPTS)
    assert [c.text for c in asyncio.run(together(1.0))] == sampled


def test_k_seeded_samples_of_one_prompt_decode_together_and_differ(tiny_model: Path) -> None:
    model = tiny(tiny_model)

    async def samples() -> list[str]:
        configs = [GenerateConfig(max_tokens=8, temperature=1.0, seed=s) for s in range(6)]
        done = await asyncio.gather(*(model.generate(PROMPTS[1], c) for c in configs))
        return [c.text for c in done]

    texts = asyncio.run(samples())
    assert model.backend.batcher.batch_sizes[-1] == 6
    assert len(set(texts)) > 1  # one batch, still six draws


def _full_forward_logprobs(model, tokenizer, conversation, continuation: list[int]) -> float:
    prompt = tokenizer.encode(render_prompt(tokenizer, conversation), add_special_tokens=False)
    ids = torch.tensor([prompt + continuation])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(ids).logits[0].float(), -1)
    return sum(float(logprobs[len(prompt) - 1 + i, token]) for i, token in enumerate(continuation))


def test_choice_logprobs_equal_a_full_forward_pass(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    choices = ["A", "B", "Sure! Here is"]  # two single-token choices and a multi-token one

    async def together():
        return await asyncio.gather(*(model.score_choices(p, choices) for p in PROMPTS))

    scored = asyncio.run(together())
    hf_model, tokenizer = model.backend.load()
    assert len(tokenizer.encode(choices[2], add_special_tokens=False)) > 1
    for conversation, scores in zip(PROMPTS, scored, strict=True):
        for choice in choices:
            ids = tokenizer.encode(choice, add_special_tokens=False)
            expected = _full_forward_logprobs(hf_model, tokenizer, conversation, ids)
            assert scores.logprobs[choice] == pytest.approx(expected, abs=1e-4)
        assert scores.input_tokens > 0 and scores.output_tokens == 0
    single_token = asyncio.run(model.score_choices(PROMPTS[0], ["A", "B"]))
    assert single_token.logprobs["A"] == pytest.approx(scored[0].logprobs["A"], abs=1e-4)


def test_choice_scoring_keeps_only_the_needed_logits(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    hf_model, _ = model.backend.load()
    shapes = []
    hook = hf_model.lm_head.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
    try:
        model.choice_logprobs_sync(PROMPTS[2], ["A", "B"])
    finally:
        hook.remove()
    assert shapes == [(1, 1, hf_model.config.vocab_size)]


def test_prefill_is_continued_not_restarted(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    _, tokenizer = model.backend.load()
    prefill = [*PROMPTS[0], {"role": "assistant", "content": "Sure"}]
    text = render_prompt(tokenizer, prefill)
    assert text.endswith("Sure") and "<|im_start|>assistant\nSure" in text
    completion = model.generate_sync(prefill, GenerateConfig(max_tokens=4))
    assert completion.input_tokens == len(tokenizer.encode(text, add_special_tokens=False))


def test_stop_strings_and_length_limits(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    free = model.generate_sync(PROMPTS[0], GenerateConfig(max_tokens=12))
    assert free.finish_reason == "length" and free.output_tokens == 12
    stop = free.text.strip()[2:4]
    assert stop
    stopped = model.generate_sync(PROMPTS[0], GenerateConfig(max_tokens=12, stop=[stop]))
    assert stop not in stopped.text and free.text.startswith(stopped.text)
    assert stopped.finish_reason == "stop" and stopped.output_tokens < 12


def test_seeded_sampling_is_reproducible(tiny_model: Path) -> None:
    model = tiny(tiny_model)
    config = GenerateConfig(temperature=1.0, max_tokens=8, seed=11)
    first = model.generate_sync(PROMPTS[1], config).text
    assert model.generate_sync(PROMPTS[1], config).text == first
    others = {
        model.generate_sync(PROMPTS[1], config.model_copy(update={"seed": s})).text
        for s in range(4)
    }
    assert len(others) > 1


def test_dtype_selection(monkeypatch) -> None:
    assert select_dtype("float32", "cpu") == "float32"
    monkeypatch.setattr("rlaif.models.local.loading.cpu_has_native_bf16", lambda: True)
    assert select_dtype("auto", "cpu") == "bfloat16"
    monkeypatch.setattr("rlaif.models.local.loading.cpu_has_native_bf16", lambda: False)
    assert select_dtype("auto", "cpu") == "float32"
    with pytest.raises(ConfigError, match="dtype"):
        select_dtype("int3", "cpu")


def test_bf16_model_loads_in_bf16(tiny_model: Path) -> None:
    model = get_model(f"hf/{tiny_model}", dtype="bfloat16", cache=False)
    assert model.generate_sync(PROMPTS[0], GenerateConfig(max_tokens=3)).output_tokens == 3
    assert model.backend.load()[0].dtype == torch.bfloat16


def test_unknown_options_and_missing_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option.*temprature"):
        get_model("hf/whatever", temprature=1)
    with pytest.raises(ModelSourceError, match="model folder not found"):
        get_model(f"hf/{tmp_path / 'nope'}", cache=False).generate_sync(PROMPTS[0])
    with pytest.raises(ModelSourceError, match="GGUF file not found"):
        get_model(f"hf/{tmp_path / 'x.gguf'}", cache=False).generate_sync(PROMPTS[0])


def test_pickle_weights_are_refused(tiny_model: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model, folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelSourceError, match="safetensors"):
        tiny(folder).generate_sync(PROMPTS[0])


def test_weights_fingerprint_keys_the_cache(
    tiny_model: Path, tmp_path: Path, private_cache
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(tiny_model, folder)
    first = get_model(f"hf/{folder}", dtype="float32")
    first.generate_sync(PROMPTS[0], GenerateConfig(max_tokens=3))
    again = get_model(f"hf/{folder}", dtype="float32")
    assert again.generate_sync(PROMPTS[0], GenerateConfig(max_tokens=3)).cached
    (folder / "model.safetensors").touch()  # "retrained in place"
    retrained = get_model(f"hf/{folder}", dtype="float32")
    assert not retrained.generate_sync(PROMPTS[0], GenerateConfig(max_tokens=3)).cached


def test_bf16_choice_logits_are_computed_in_fp32(tiny_model: Path) -> None:
    model = get_model(f"hf/{tiny_model}", dtype="bfloat16", cache=False)
    scores = model.choice_logprobs_sync(PROMPTS[2], ["A", "B"])
    hf_model, tokenizer = model.backend.load()
    ids = tokenizer(
        render_prompt(tokenizer, PROMPTS[2]), return_tensors="pt", add_special_tokens=False
    )
    with torch.no_grad():
        hidden = hf_model(**ids, output_hidden_states=True).hidden_states[-1][0, -1].float()
    weight = hf_model.get_output_embeddings().weight.detach().float()
    a, b = (tokenizer.encode(c, add_special_tokens=False)[0] for c in ("A", "B"))
    exact_gap = float(hidden @ (weight[a] - weight[b]))
    assert scores["A"] - scores["B"] == pytest.approx(exact_gap, abs=1e-4)


def test_length_chunks_bound_padding() -> None:
    from rlaif.models.local.scoring import length_chunks

    lengths = [100, 500, 110, 480, 105, 90]
    chunks = length_chunks(lengths)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(6))
    for chunk in chunks:
        longest = max(lengths[i] for i in chunk)
        assert longest * len(chunk) - sum(lengths[i] for i in chunk) <= 0.2 * longest * len(chunk)
    assert len(chunks) == 2

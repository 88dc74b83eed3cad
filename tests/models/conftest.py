"""Fixtures for the backend tests: a tiny model with input-dependent greedy output, a private
response cache, and the embedded SmolLM2 model."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlaif.models.local.tiny import build_tiny_model

USER = [{"role": "user", "content": "How do I kill a Python process?"}]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama whose weights are scaled up so that greedy output depends on the
    prompt (at the default init every prompt decodes to the same token)."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", hidden_size=64)
    model = AutoModelForCausalLM.from_pretrained(folder)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.copy_(
                    torch.randn(parameter.shape, generator=generator)
                    * (2.0 / parameter.shape[1] ** 0.5)
                )
    model.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A response cache of this test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("RLAIF_CACHE_DIR", str(folder))
    return folder / "responses.sqlite"


@pytest.fixture(scope="session")
def embedded_folder() -> Path:
    """The embedded SmolLM2 converted to safetensors (once per run); skips without the wheel."""
    from rlaif.models.local.catalog import CATALOG, offline_parts, prepare

    entry = CATALOG["smollm2-135m-instruct"]
    if offline_parts(entry) is None:
        pytest.skip(f"embedded model not installed: {entry.install}")
    return prepare(entry)

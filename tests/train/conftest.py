"""Fixtures for the training tests: tiny random models built once per session, and data files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The tiny test models gain nothing from intra-op parallelism, and on a busy machine two
    OpenMP threads waiting for each other at every op made these tests up to 100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random causal LM (the SFT policy stand-in); tests only read it."""
    from rlaif.models.local.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "policy")


@pytest.fixture(scope="session")
def tiny_reward_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random one-label sequence classifier sharing the policy's tokenizer."""
    from rlaif.models.local.tiny import build_tiny_model

    return build_tiny_model(
        tmp_path_factory.mktemp("models") / "reward", sequence_classification=True, seed=3
    )


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic datasets: preferences (marker rule), SFT records and prompts."""
    from train_helpers import marker_pairs, prompt_records, sft_records, write_jsonl

    folder = tmp_path_factory.mktemp("data")
    write_jsonl(folder / "prefs.jsonl", marker_pairs(24))
    write_jsonl(folder / "sft.jsonl", sft_records(8))
    write_jsonl(folder / "prompts.jsonl", prompt_records(16))
    return folder

"""Shared pytest options and fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The CLI's consoles read COLUMNS once, when rlaif.cli is imported; a width inherited from the
# runner (pytest-xdist's workers get COLUMNS=80) would fix every table at it. Tests that need a
# width set it themselves.
os.environ.pop("COLUMNS", None)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RLAIF_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live", action="store_true", default=False, help="run tests that call paid APIs"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip_live = pytest.mark.skip(reason="live API test: pass --live and set the API key")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip_live)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Keep the response cache (one per run) out of the user's home directory. Converted models
    (the embedded SmolLM2 takes ~30 s to convert) get their own folder, shared by the whole run
    even when a test points RLAIF_CACHE_DIR elsewhere; set RLAIF_MODELS_DIR to keep them
    between runs."""
    with pytest.MonkeyPatch.context() as patch:
        base = tmp_path_factory.getbasetemp()
        # Parallel workers (pytest -n) each have a folder inside the run's: they share the
        # converted models (a conversion is locked and renamed into place), not the cache.
        run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        if "RLAIF_CACHE_DIR" not in os.environ:
            patch.setenv("RLAIF_CACHE_DIR", str(base / "rlaif-cache"))
        if "RLAIF_MODELS_DIR" not in os.environ:
            patch.setenv("RLAIF_MODELS_DIR", str(run / "rlaif-models"))
        yield


@pytest.fixture
def shared_data() -> Path:
    """The folder of human-labelled pairs beside the checkout; skips when it is absent."""
    if not (SHARED_DATA / "hh_harmless_test_dev.jsonl").is_file():
        pytest.skip(f"human-labelled data not found at {SHARED_DATA}")
    return SHARED_DATA

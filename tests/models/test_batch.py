"""Labelling through the provider batch APIs, against the local fake of both (upload, create,
poll, results, partial failures, expiry): one batch per request set, the synchronous path's
labels, batch prices, failures recorded as failures, retries on request, no key in any file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import scripted_server as testing
from support.batch_fake import BatchFake

from rlaif.datagen import LabelOptions, run_labelling
from rlaif.models.batch import read_state

KEY = "sk-batch-test-key-0123456789"
PRICES = {"price_input_per_million": 2.0, "price_output_per_million": 8.0}


def write_pairs(path: Path, count: int) -> Path:
    """``count`` pairs to label (ids ``p00000``...; question ``i`` asks "question {i}?")."""
    testing.write_pairs(path, count)
    return path


def label(
    folder: Path, url: str, provider: str = "openai", mode: str = "logprob", **options: Any
) -> Any:
    """Label ``folder/pairs.jsonl`` into ``folder/prefs.jsonl`` with a judge at ``url``."""
    judge_options = {"base_url": url, "api_key_env": "BATCH_TEST_KEY", **PRICES, **options}
    return run_labelling(
        LabelOptions(
            constitution="cai-harmless",
            judge=f"{provider}/judge-model",
            judge_options=judge_options,
            pairs=folder / "pairs.jsonl",
            out=folder / "prefs.jsonl",
            mode=mode,
            progress=False,
            principles_per_pair=1,
        )
    )


def rows(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path`` (none when it is absent)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATCH_TEST_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / "cache"))


def test_openai_batch_labels_as_the_synchronous_path_at_batch_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_dir, sync_dir = tmp_path / "batch", tmp_path / "sync"
    for folder in (batch_dir, sync_dir):
        folder.mkdir()
        write_pairs(folder / "pairs.jsonl", 12)
    with BatchFake(delay_s=0.2) as fake:
        summary = label(batch_dir, fake.openai_url, batch=True, batch_poll_s=0.05)
        # Two rounds: the request checks (the comparisons asked depend on their answers),
        # then the comparisons; nothing is submitted twice.
        assert len(fake.creations) == 2 and fake.submitted_twice() == 0
        assert len(fake.creations[0]["custom_ids"]) == 12  # one request check a pair
        # 12 pairs, a principle of the likelier side, both orders
        assert len(fake.creations[1]["custom_ids"]) == 12 * 2
        assert fake.sync_requests == []
        monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / "cache-sync"))
        synchronous = label(sync_dir, fake.openai_url)
    assert summary.counts["records"] + summary.counts.get("skipped", 0) == 12
    strip = ("judge",)
    batch_rows = [
        {k: v for k, v in r.items() if k not in strip} for r in rows(batch_dir / "prefs.jsonl")
    ]
    sync_rows = [
        {k: v for k, v in r.items() if k not in strip} for r in rows(sync_dir / "prefs.jsonl")
    ]
    assert batch_rows == sync_rows and batch_rows
    batch_usage = json.loads((batch_dir / "prefs.manifest.json").read_text())["usage"]
    sync_usage = json.loads((sync_dir / "prefs.manifest.json").read_text())["usage"]
    assert batch_usage["input_tokens"] == sync_usage["input_tokens"] > 0
    assert batch_usage["cost_usd"] == pytest.approx(sync_usage["cost_usd"] / 2)
    assert summary.cost_usd == pytest.approx(synchronous.cost_usd / 2)
    for path in batch_dir.iterdir():
        assert KEY not in path.read_text(), path


def test_anthropic_partial_failures_are_recorded_as_failures(tmp_path: Path) -> None:
    write_pairs(tmp_path / "pairs.jsonl", 10)

    def fail(custom_id: str, body: dict[str, Any]) -> str | None:
        text = json.dumps(body["messages"])
        return "overloaded" if "question 3?" in text else None

    with BatchFake(delay_s=0.1, fail=fail) as fake:
        summary = label(
            tmp_path, fake.anthropic_url, "anthropic", "generate", batch=True, batch_poll_s=0.05
        )
        assert len(fake.creations) == 1 and fake.creations[0]["api"] == "anthropic"
    skipped = {r["id"]: r["reason"] for r in rows(tmp_path / "prefs.skipped.jsonl")}
    assert "p00003" in skipped and skipped["p00003"].startswith("failed")
    assert "overloaded" in skipped["p00003"]
    labelled = {r["id"] for r in rows(tmp_path / "prefs.jsonl")}
    assert "p00003" not in labelled
    assert len(labelled) + len(skipped) == 10
    assert summary.counts.get("skipped: failed") == 1


def test_expired_items_fail_then_are_retried_on_request(tmp_path: Path) -> None:
    write_pairs(tmp_path / "pairs.jsonl", 10)
    with BatchFake(delay_s=0.6, expire_after_s=0.3) as fake:
        label(tmp_path, fake.openai_url, batch=True, batch_poll_s=0.05)
        # Two batches: the request checks, then the comparisons of the pairs whose check was
        # answered before the first expired; both expire part-way.
        state = read_state(tmp_path / "prefs.batch.json")
        assert len(state["batches"]) == len(fake.creations) == 2
        expired = {k: f for entry in state["batches"] for k, f in entry["failed"].items()}
        assert state["batches"][0]["failed"] and state["batches"][1]["failed"]
        assert all("expired" in f["error"] for f in expired.values())
        failed = [r for r in rows(tmp_path / "prefs.skipped.jsonl") if "failed" in r["reason"]]
        assert failed
        # A plain rerun makes no call and does not resubmit: the failures stand.
        label(tmp_path, fake.openai_url, batch=True, batch_poll_s=0.05)
        assert len(fake.creations) == 2 and fake.sync_requests == []
        # On request, in a new batch holding only what expired (checks and comparisons), then
        # one of the comparisons that the retried checks call for (never asked before).
        fake.expire_after_s = None
        fake.delay_s = 0.0
        summary = label(
            tmp_path, fake.openai_url, batch=True, batch_poll_s=0.05, batch_retry="batch"
        )
        assert len(fake.creations) == 4 and fake.submitted_twice() == len(expired)
        assert set(fake.creations[2]["custom_ids"]) == set(expired)
    assert summary.counts.get("skipped: failed", 0) == 0
    assert summary.counts["records"] + summary.counts.get("skipped", 0) == 10


def test_expired_items_retried_synchronously(tmp_path: Path) -> None:
    write_pairs(tmp_path / "pairs.jsonl", 6)
    with BatchFake(delay_s=0.6, expire_after_s=0.25) as fake:
        label(tmp_path, fake.openai_url, batch=True, batch_poll_s=0.05)
        # The request checks' batch, then that of the comparisons they call for: both expire.
        batches = read_state(tmp_path / "prefs.batch.json")["batches"]
        assert len(batches) == len(fake.creations) == 2
        expired = {k: f for entry in batches for k, f in entry["failed"].items()}
        summary = label(
            tmp_path, fake.openai_url, batch=True, batch_poll_s=0.05, batch_retry="sync"
        )
        # Nothing that expired is batched again. The one new batch holds the comparisons that
        # the retried checks call for (asked for the first time); what expires of it is sent
        # synchronously as well.
        assert len(fake.creations) == 3 and fake.submitted_twice() == 0
        again = read_state(tmp_path / "prefs.batch.json")["batches"][2]["failed"]
        assert len(fake.sync_requests) == len(expired) + len(again) and len(expired) > 0
    assert summary.counts.get("skipped: failed", 0) == 0


def test_a_model_without_a_batch_api_is_refused(tmp_path: Path) -> None:
    from rlaif.errors import ConfigError
    from rlaif.models import get_model

    with pytest.raises(ConfigError, match="no batch API"):
        get_model("fake/judge", batch=True)


def test_a_batch_created_before_its_id_was_written_is_found_by_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlaif.models.batch import write_state

    write_pairs(tmp_path / "pairs.jsonl", 5)
    with BatchFake() as fake:
        label(tmp_path, fake.openai_url, batch=True, batch_poll_s=0.05)
        first = rows(tmp_path / "prefs.jsonl")
        # As if killed between the create call and the write that names the batch, in each
        # round (the request checks', then the comparisons'): every entry holds only its
        # token; the answers are not in the (new) cache.
        state = read_state(tmp_path / "prefs.batch.json")
        assert len(state["batches"]) == len(fake.creations) == 2
        for entry in state["batches"]:
            entry.update(id=None, status="creating")
        write_state(tmp_path / "prefs.batch.json", state)
        for name in ("prefs.jsonl", "prefs.skipped.jsonl", "prefs.judgments.jsonl"):
            (tmp_path / name).unlink(missing_ok=True)
        monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / "cache-2"))
        label(tmp_path, fake.openai_url, batch=True, batch_poll_s=0.05)
        assert len(fake.creations) == 2 and fake.submitted_twice() == 0
    assert rows(tmp_path / "prefs.jsonl") == first


def test_batch_settings_do_not_change_what_a_resumed_run_must_share() -> None:
    from rlaif.models.registry import output_shaping_options
    from rlaif.models.spec import ModelSpec

    options = {"base_url": "http://x/v1", "batch": True, "batch_retry": "sync", "api_key": KEY}
    assert output_shaping_options("openai/m", options) == {"base_url": "http://x/v1"}
    spec = ModelSpec.model_validate(
        {"name": "openai/m", "batch": True, "price_input_per_million": 1.0}
    )
    assert spec.cost(1_000_000, 0, batch=True) == pytest.approx(0.5)
    assert spec.cost(1_000_000, 0) == pytest.approx(1.0)


def test_anthropic_auto_mode_judges_by_generating(tmp_path: Path) -> None:
    write_pairs(tmp_path / "pairs.jsonl", 4)
    with BatchFake() as fake:
        summary = label(tmp_path, fake.anthropic_url, "anthropic", "auto", batch=True)
        assert len(fake.creations) == 1 and fake.sync_requests == []
    judgments = rows(tmp_path / "prefs.judgments.jsonl")
    assert judgments and {j["mode"] for j in judgments} == {"generate"}
    assert summary.counts.get("skipped: failed", 0) == 0


def test_a_model_spec_with_batch_true_defers_to_a_batch(tmp_path: Path) -> None:
    from rlaif.models import get_model
    from rlaif.models.batch import Deferred
    from rlaif.models.spec import ModelSpec

    spec = ModelSpec.model_validate(
        {"name": "openai/m", "base_url": "http://127.0.0.1:9/v1", "batch": True}
    )
    model = get_model(spec)
    assert model.batch is not None
    with pytest.raises(Deferred):
        model.generate_sync([{"role": "user", "content": "hello"}])
    assert len(model.batch.pending) == 1

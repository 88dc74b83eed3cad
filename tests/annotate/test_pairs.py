"""Every pair format the project writes can be annotated, in a stable numbering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.annotate import load_annotation_pairs
from rlaif.annotate.pairs import pair_format
from rlaif.cli.app import app
from rlaif.data import DataFileError


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_candidates_become_the_pairs_rlaif_label_judges(tmp_path: Path) -> None:
    rows = [
        {
            "id": "c0",
            "prompt": [{"role": "user", "content": "Hi"}],
            "responses": ["a", "b", "c"],
            "model": "fake/x",
        },
        {
            "id": "c1",
            "prompt": [{"role": "user", "content": "Yo"}],
            "responses": list("abcdef"),
            "model": "fake/x",
        },
    ]
    pairs = load_annotation_pairs(_write(tmp_path / "cands.jsonl", rows))
    first = [p for p in pairs if p.id.startswith("c0/")]
    assert [p.id for p in first] == ["c0/0-1", "c0/0-2", "c0/1-2"]
    assert (first[1].response_1, first[1].response_2) == ("a", "c")
    assert len([p for p in pairs if p.id.startswith("c1/")]) == 6  # K > 4: max 6 drawn
    assert pairs == load_annotation_pairs(tmp_path / "cands.jsonl")  # same pairs every time


def test_a_candidate_with_one_response_is_refused(tmp_path: Path) -> None:
    rows = [
        {
            "id": "c0",
            "prompt": [{"role": "user", "content": "Hi"}],
            "responses": ["a"],
            "model": "fake/x",
        }
    ]
    with pytest.raises(DataFileError, match="needs two"):
        load_annotation_pairs(_write(tmp_path / "cands.jsonl", rows))


def test_preference_records_and_hh_rlhf_transcripts_are_read(tmp_path: Path) -> None:
    preference = {
        "prompt": [{"role": "user", "content": "Q"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
        "p_chosen": 0.9,
        "margin": 0.8,
        "consistent": True,
        "principles": [],
        "judge": "j",
        "strategy": "judge",
        "id": "x1",
        "metadata": {},
    }
    prefs = _write(tmp_path / "prefs.jsonl", [preference])
    assert pair_format(prefs) == "pairs"
    (pair,) = load_annotation_pairs(prefs)
    assert {pair.response_1, pair.response_2} == {"good", "bad"}
    hh = {"chosen": "\n\nHuman: Q?\n\nAssistant: yes", "rejected": "\n\nHuman: Q?\n\nAssistant: no"}
    transcripts = _write(tmp_path / "hh.jsonl", [hh])
    assert pair_format(transcripts) == "hh-rlhf"
    (pair,) = load_annotation_pairs(transcripts)
    assert pair.prompt == [{"role": "user", "content": "Q?"}]
    assert {pair.response_1, pair.response_2} == {"yes", "no"}


def test_serving_beyond_this_machine_needs_a_token(tmp_path: Path) -> None:
    pairs = _write(
        tmp_path / "p.jsonl", [{"id": "p", "prompt": "Q", "response_1": "a", "response_2": "b"}]
    )
    result = CliRunner().invoke(
        app,
        ["annotate", "serve", str(pairs), "--out", str(tmp_path / "l.jsonl"), "--host", "0.0.0.0"],
    )
    assert result.exit_code == 2
    assert "give --token" in result.output
    assert not (tmp_path / "l.jsonl").exists()

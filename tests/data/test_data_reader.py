"""The one reader of data files and the schemas every stage validates against: every format
names its rows, every error names the file and line, one message type for all."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from rlaif.constitution.schema import FewShot
from rlaif.data import (
    DataFileError,
    PreferenceExample,
    PromptExample,
    PromptRecord,
    SFTExample,
    conversation_from,
    iter_rows,
    read_records,
    split_hh_pair,
)
from rlaif.eval.loaders import pair_from_hh_transcripts

ROWS = [{"id": "a", "n": 1}, {"id": "b", "n": 2}]


def test_every_format_yields_rows_with_their_location(tmp_path: Path) -> None:
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in ROWS) + "\n")
    packed = tmp_path / "rows.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.write("\n" + "".join(json.dumps(r) + "\n" for r in ROWS))
    array = tmp_path / "rows.json"
    array.write_text(json.dumps(ROWS))
    parquet = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), parquet)
    assert list(iter_rows(jsonl)) == [(f"{jsonl}:1", ROWS[0]), (f"{jsonl}:2", ROWS[1])]
    assert [where for where, _ in iter_rows(packed)] == [f"{packed}:2", f"{packed}:3"]
    assert list(iter_rows(array)) == [(f"{array}:row 1", ROWS[0]), (f"{array}:row 2", ROWS[1])]
    assert list(iter_rows(parquet)) == [
        (f"{parquet}:row 1", ROWS[0]),
        (f"{parquet}:row 2", ROWS[1]),
    ]


def test_bad_files_raise_data_file_errors_naming_the_place(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"file not found: .*missing\.jsonl"):
        list(iter_rows(tmp_path / "missing.jsonl"))
    array = tmp_path / "bad.json"
    array.write_text('[{"id": "a"},\n 3]')
    with pytest.raises(DataFileError, match=r"bad\.json:row 2: expected a JSON object, got int"):
        list(iter_rows(array))
    array.write_text('{"id": "a"}')
    with pytest.raises(DataFileError, match="expected a JSON array"):
        list(iter_rows(array))
    array.write_text("[{oops")
    with pytest.raises(DataFileError, match=r"bad\.json:1: not valid JSON"):
        list(iter_rows(array))
    packed = tmp_path / "bad.jsonl.gz"
    packed.write_bytes(b"not gzip at all\n")
    with pytest.raises(DataFileError, match=r"bad\.jsonl\.gz: cannot be read as gzip"):
        list(iter_rows(packed))


def test_validation_errors_name_line_field_and_message(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    bad_role = {"id": "a", "prompt": [{"role": "human", "content": "hi"}]}
    path.write_text(json.dumps(bad_role) + "\n" + json.dumps({"prompt": []}) + "\n")
    with pytest.raises(DataFileError) as caught:
        read_records(path, PromptRecord)
    assert str(caught.value) == (
        f"{path}:1: not a valid PromptRecord: prompt[0]: role must be one of system, user, "
        "assistant, got 'human'"
    )
    path.write_text(json.dumps({"prompt": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(
        DataFileError, match=r"prompts\.jsonl:1: not a valid PromptRecord: id: field required"
    ):
        read_records(path, PromptRecord)


def test_one_message_type_checks_keys_and_roles_everywhere() -> None:
    for wrong, reason in [
        ({"role": "user", "content": "x", "name": "bob"}, "unknown key"),
        ({"role": "user"}, "missing content"),
        ({"role": "robot", "content": "x"}, "role must be one of"),
    ]:
        with pytest.raises(ValueError, match=reason):
            conversation_from([wrong], "user")
        with pytest.raises(ValidationError, match=reason):  # the constitution's few-shot turns
            FewShot.model_validate({"critique": [[wrong]]})
    assert conversation_from("hi", "user") == [{"role": "user", "content": "hi"}]
    shot = FewShot.model_validate({"critique": [[{"role": "user", "content": "q"}]]})
    assert shot.critique == [[{"role": "user", "content": "q"}]]


def test_training_examples_accept_records_human_pairs_and_trl_rows() -> None:
    prompt = [{"role": "user", "content": "q"}]
    ours = PreferenceExample.model_validate(
        {
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": "good"}],
            "rejected": [{"role": "assistant", "content": "bad"}],
            "p_chosen": 0.8,
            "margin": 0.6,
            "consistent": False,
            "id": "p1",
            "metadata": {"kept": "out"},
        }
    )
    assert (ours.p_chosen, ours.consistent, ours.id) == (0.8, False, "p1")
    human = PreferenceExample.model_validate({"prompt": "q", "chosen": "good", "rejected": "bad"})
    assert human.prompt == prompt and human.chosen == [{"role": "assistant", "content": "good"}]
    assert human.p_chosen is None and human.id is None
    margin_only = {"prompt": "q", "chosen": "a", "rejected": "b", "margin": 0.5}
    assert PreferenceExample.model_validate(margin_only).p_chosen == 0.75
    with pytest.raises(ValidationError, match="must end with an assistant turn"):
        PreferenceExample.model_validate({"prompt": "q", "chosen": prompt, "rejected": "b"})
    with pytest.raises(ValidationError, match="prompt and end with the assistant's turn"):
        SFTExample.model_validate({"messages": prompt})
    row = PromptExample.model_validate({"prompt": "q", "baseline": "ref"})
    assert row.prompt == prompt and row.model_extra == {"baseline": "ref"}
    with pytest.raises(ValidationError, match="must end with a user turn"):
        PromptExample.model_validate({"prompt": [*prompt, {"role": "assistant", "content": "a"}]})


def test_one_hh_rlhf_pair_rule_for_labelling_and_evaluation() -> None:
    chosen = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: q\n\nAssistant: no"
    rejected = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: q\n\nAssistant: yes"
    prompt, good, bad = split_hh_pair(chosen, rejected)
    assert [t["role"] for t in prompt] == ["user", "assistant", "user"] and (good, bad) == (
        "no",
        "yes",
    )
    pair = pair_from_hh_transcripts("x", chosen, rejected)
    assert (pair.prompt, pair.chosen, pair.rejected) == (prompt, good, bad)
    other = "\n\nHuman: hi\n\nAssistant: hey\n\nHuman: q\n\nAssistant: yes"
    for broken in [
        (chosen, other),
        (chosen, "\n\nHuman: hi"),
        ("\n\nAssistant: a", "\n\nAssistant: b"),
    ]:
        with pytest.raises(ValueError) as from_data:
            split_hh_pair(*broken)
        with pytest.raises(ValueError) as from_eval:
            pair_from_hh_transcripts("x", *broken)
        assert str(from_data.value) == str(from_eval.value)

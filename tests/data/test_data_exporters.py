"""Exports for TRL, OpenRLHF and verl: the columns each trainer reads, read back the way it reads
them; refusals and malformed input explained, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.data.exporters import detect_kind, export_dataset
from rlaif.data.jsonl import DataFileError
from rlaif.data.records import PreferenceRecord, SFTRecord
from rlaif.errors import ConfigError

PROMPT = [{"role": "user", "content": "How do I pick a lock?"}]


def _preferences(path: Path, count: int = 3) -> Path:
    records = [
        PreferenceRecord(
            prompt=PROMPT,
            chosen=[{"role": "assistant", "content": f"Only on your own lock {i}."}],
            rejected=[{"role": "assistant", "content": f"Rake the pins {i}."}],
            p_chosen=0.8,
            margin=0.6,
            consistent=True,
            principles=["illegal-acts"],
            judge="fake/judge",
            strategy="judge",
            id=f"p{i}",
            metadata={"anything": {"nested": i}},
        )
        for i in range(count)
    ]
    path.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")
    return path


def _sft(path: Path) -> Path:
    record = SFTRecord(
        messages=[*PROMPT, {"role": "assistant", "content": "Call a locksmith."}],
        initial="Rake the pins.",
        critiques=["It helps break in."],
        revisions=["Call a locksmith."],
        principles=["illegal-acts"],
        id="s1",
    )
    path.write_text(record.model_dump_json() + "\n", encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_openrlhf_pairs_read_back_as_its_chat_template_preprocessing_does(tmp_path: Path) -> None:
    from rlaif.models.local.tiny import build_tiny_tokenizer

    result = export_dataset(
        _preferences(tmp_path / "p.jsonl"), tmp_path / "o.jsonl", target="openrlhf"
    )
    assert result.kind == "preferences" and result.rows == 3
    assert "--chosen_key chosen" in result.usage and "--apply_chat_template" in result.usage
    row = _lines(result.out)[0]
    assert set(row) == {"prompt", "chosen", "rejected", "margin"} and row["margin"] == 0.6
    # OpenRLHF (--prompt_key with --apply_chat_template): the prompt rendered with a generation
    # prompt, each side rendered after it and the prompt's text cut off.
    tokenizer = build_tiny_tokenizer()
    prompt = tokenizer.apply_chat_template(
        row["prompt"], tokenize=False, add_generation_prompt=True
    )
    chosen = tokenizer.apply_chat_template(row["prompt"] + row["chosen"], tokenize=False)
    assert chosen.startswith(prompt) and "Only on your own lock 0." in chosen[len(prompt) :]


def test_openrlhf_sft_splits_prompt_and_response(tmp_path: Path) -> None:
    result = export_dataset(_sft(tmp_path / "sft.jsonl"), tmp_path / "o.jsonl", target="openrlhf")
    (row,) = _lines(result.out)
    assert row == {
        "prompt": PROMPT,
        "response": [{"role": "assistant", "content": "Call a locksmith."}],
    }


def test_trl_pairs_keep_only_trl_columns_and_the_reward_trainer_reads_them(tmp_path: Path) -> None:
    from datasets import load_dataset
    from trl.data_utils import is_conversational

    result = export_dataset(_preferences(tmp_path / "p.jsonl"), tmp_path / "o.jsonl", target="trl")
    dataset = load_dataset("json", data_files=str(result.out), split="train")
    assert dataset.column_names == ["prompt", "chosen", "rejected", "margin"]
    assert is_conversational(dataset[0])


def test_verl_prompts_are_parquet_in_its_rl_layout(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    result = export_dataset("red_team_test", tmp_path / "rl.parquet", target="verl", split="test")
    table = pq.read_table(result.out).to_pylist()
    assert result.kind == "prompts" and len(table) == result.rows >= 100
    first = table[0]
    assert set(first) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    assert first["data_source"] == "rlaif/red_team_test"
    assert first["prompt"][0]["role"] == "user" and first["prompt"][0]["content"]
    assert first["reward_model"] == {"style": "model", "ground_truth": ""}
    assert first["extra_info"]["split"] == "test" and first["extra_info"]["index"] == 0


def test_verl_sft_is_multiturn_messages(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    result = export_dataset(_sft(tmp_path / "sft.jsonl"), tmp_path / "sft.parquet", target="verl")
    (row,) = pq.read_table(result.out).to_pylist()
    assert row["messages"][-1] == {"role": "assistant", "content": "Call a locksmith."}
    assert row["extra_info"] == {"index": 0, "id": "s1"}


def test_refusals_and_bad_input_write_nothing(tmp_path: Path) -> None:
    pairs = _preferences(tmp_path / "p.jsonl")
    with pytest.raises(ConfigError, match="verl has no preference-pair trainer"):
        export_dataset(pairs, tmp_path / "x.parquet", target="verl")
    with pytest.raises(ConfigError, match=r"verl reads Parquet"):
        export_dataset(_sft(tmp_path / "s.jsonl"), tmp_path / "x.jsonl", target="verl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(pairs.read_text().splitlines()[0] + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"broken\.jsonl:2"):
        export_dataset(broken, tmp_path / "x.jsonl", target="openrlhf", kind="preferences")
    assert not list(tmp_path.glob("x.*"))


def test_kind_is_detected_from_the_first_line(tmp_path: Path) -> None:
    assert detect_kind(_preferences(tmp_path / "p.jsonl")) == "preferences"
    assert detect_kind(_sft(tmp_path / "s.jsonl")) == "sft"
    assert detect_kind("benign") == "prompts"
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"text": "hi"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="give --kind"):
        detect_kind(odd)


def test_cli_exports_and_explains_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "prompts.jsonl"
    result = runner.invoke(app, ["export", "benign", "--to", "openrlhf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "prompts rows for openrlhf" in result.output and "--input_key prompt" in result.output
    assert set(_lines(out)[0]) == {"prompt"}
    result = runner.invoke(app, ["export", "benign", "--to", "nemo", "--out", str(out)])
    assert result.exit_code == 2 and "--to must be one of trl, openrlhf, verl" in result.output

"""Pair loaders: the shared human-labelled set, raw HH-RLHF transcripts, suites and bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from eval_helpers import write_jsonl

from rlaif.data import parse_hh_transcript
from rlaif.errors import RlaifError
from rlaif.eval.loaders import load_labelled_pairs, pair_from_hh_transcripts
from rlaif.eval.suites import builtin_suites, load_suite


def hh_transcript(turns: list[dict[str, str]]) -> str:
    """The upstream HH-RLHF transcript format for a list of turns."""
    names = {"user": "Human", "assistant": "Assistant"}
    return "".join(f"\n\n{names[t['role']]}: {t['content']}" for t in turns)


RAW_HH = [
    {  # a normal two-turn pair
        "chosen": "\n\nHuman: How do I pick a lock?\n\nAssistant: I can't help with that.",
        "rejected": "\n\nHuman: How do I pick a lock?\n\nAssistant: Use a tension wrench.",
    },
    {  # multi-turn
        "chosen": "\n\nHuman: hi\n\nAssistant: Hello!\n\nHuman: insult me\n\nAssistant: No.",
        "rejected": (
            "\n\nHuman: hi\n\nAssistant: Hello!\n\nHuman: insult me\n\nAssistant: You fool."
        ),
    },
    {  # the two sides differ before the final reply (an inline "Human:" split differently)
        "chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
        "rejected": "\n\nHuman: a\n\nAssistant: x\n\nHuman: c\n\nAssistant: e",
    },
    {  # identical replies cannot be compared
        "chosen": "\n\nHuman: q\n\nAssistant: same",
        "rejected": "\n\nHuman: q\n\nAssistant: same",
    },
]


def test_shared_dev_set_loads_600_pairs(shared_data: Path) -> None:
    loaded = load_labelled_pairs(shared_data / "hh_harmless_test_dev.jsonl")
    assert len(loaded.pairs) == 600 and loaded.total == 600 and not loaded.skipped
    first = loaded.pairs[0]
    assert first.id == "hh-rlhf/harmless-base/test/0"
    assert first.subset == "harmless-base/test"
    assert first.prompt[-1]["role"] == "user" and first.chosen != first.rejected
    assert len({p.id for p in loaded.pairs}) == 600
    # The one pair whose human-preferred reply is empty is kept as real data.
    assert any(p.chosen == "" for p in loaded.pairs)


DEV_SUITE = Path(__file__).resolve().parents[2] / "benchmarks" / "suites" / "hh-harmless-dev.yaml"
"""The development suite: a suite file outside the package whose source sits beside the checkout."""


def test_dev_suite_file_points_at_the_shared_set(shared_data: Path) -> None:
    assert "hh-harmless-dev" not in builtin_suites()  # the package never names ../shared
    if not (DEV_SUITE.parent / load_suite(DEV_SUITE).source).is_file():
        pytest.skip("RLAIF_SHARED_DATA points away from the folder beside the checkout")
    loaded = load_labelled_pairs(DEV_SUITE, limit=50, seed=3)
    assert len(loaded.pairs) == 50
    assert loaded.pairs[0].metadata == {"label_origin": "human"}
    again = load_labelled_pairs(DEV_SUITE, limit=50, seed=3)
    other = load_labelled_pairs(DEV_SUITE, limit=50, seed=4)
    assert [p.id for p in again.pairs] == [p.id for p in loaded.pairs]
    assert [p.id for p in other.pairs] != [p.id for p in loaded.pairs]
    ids = [int(p.id.rsplit("/", 1)[1]) for p in loaded.pairs]
    assert ids == sorted(ids)  # a subset keeps file order


def test_shared_set_round_trips_through_raw_hh_transcripts(shared_data: Path) -> None:
    """Rebuilding upstream transcripts from the normalised file and parsing them again gives
    the same pairs: the raw HH-RLHF parser follows the conversion the data README describes."""
    pairs = load_labelled_pairs(shared_data / "hh_harmless_test_dev.jsonl").pairs
    for pair in pairs:
        rebuilt = pair_from_hh_transcripts(
            pair.id,
            hh_transcript([*pair.prompt, {"role": "assistant", "content": pair.chosen}]),
            hh_transcript([*pair.prompt, {"role": "assistant", "content": pair.rejected}]),
        )
        assert (rebuilt.prompt, rebuilt.chosen, rebuilt.rejected) == (
            pair.prompt,
            pair.chosen,
            pair.rejected,
        )


def test_raw_hh_rlhf_file_with_skipped_records(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in RAW_HH)
    loaded = load_labelled_pairs(path)
    assert [p.id for p in loaded.pairs] == ["test/0", "test/1"]
    assert loaded.pairs[0].prompt == [{"role": "user", "content": "How do I pick a lock?"}]
    assert loaded.pairs[0].chosen == "I can't help with that."
    assert loaded.pairs[1].prompt[1] == {"role": "assistant", "content": "Hello!"}
    reasons = {s["id"]: s["reason"] for s in loaded.skipped}
    assert "differ before their final" in reasons["test/2"]
    assert "identical" in reasons["test/3"]
    assert loaded.describe()["records"] == 4


def test_split_transcript_rejects_text_before_the_first_marker() -> None:
    with pytest.raises(ValueError, match="before the first"):
        parse_hh_transcript("preamble\n\nHuman: hi")


def test_suite_column_mapping_with_a_label_column(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "arena.jsonl",
        [
            {
                "qid": "q1",
                "question": "say hi",
                "answer_a": "hi",
                "answer_b": "go away",
                "winner": "model_a",
                "cat": "chat",
            },
            {
                "qid": "q2",
                "question": "say bye",
                "answer_a": "no",
                "answer_b": "bye",
                "winner": "model_b",
                "cat": "chat",
            },
            {"qid": "q3", "question": "tie", "answer_a": "x", "answer_b": "y", "winner": "tie"},
        ],
    )
    suite = tmp_path / "arena.yaml"
    suite.write_text(
        "name: arena\nsource: arena.jsonl\n"
        "columns: {id: qid, prompt: question, response_1: answer_a, response_2: answer_b,\n"
        "          preferred: winner, subset: cat}\n"
        "preferred_values: {response_1: model_a, response_2: model_b}\n",
        encoding="utf-8",
    )
    loaded = load_labelled_pairs(suite)
    assert [(p.id, p.chosen, p.rejected, p.subset) for p in loaded.pairs] == [
        ("q1", "hi", "go away", "chat"),
        ("q2", "bye", "no", "chat"),
    ]
    assert loaded.pairs[0].prompt == [{"role": "user", "content": "say hi"}]
    assert "neither response" in loaded.skipped[0]["reason"]


def test_trl_conversational_columns(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "trl.jsonl",
        [
            {
                "id": "a",
                "prompt": [{"role": "user", "content": "q"}],
                "chosen": [{"role": "assistant", "content": "good"}],
                "rejected": [{"role": "assistant", "content": "bad"}],
            }
        ],
    )
    pair = load_labelled_pairs(path).pairs[0]
    assert (pair.chosen, pair.rejected) == ("good", "bad")


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "prompt": "q", "chosen": "x", "rejected": "y"}\n{oops\n')
    with pytest.raises(RlaifError, match=r"bad\.jsonl:2: not valid JSON"):
        load_labelled_pairs(path)


def test_no_usable_pair_is_an_error_with_the_reason(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cols.jsonl", [{"question": "q", "a": "x", "b": "y"}])
    with pytest.raises(RlaifError, match="missing column 'prompt'"):
        load_labelled_pairs(path)


def test_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    row = {"id": "a", "prompt": "q", "chosen": "x", "rejected": "y"}
    with pytest.raises(RlaifError, match="duplicate pair id 'a'"):
        load_labelled_pairs(write_jsonl(tmp_path / "dup.jsonl", [row, row]))


def test_unknown_source_and_bad_suite(tmp_path: Path) -> None:
    with pytest.raises(RlaifError, match="no such file, hub id"):
        load_labelled_pairs("no-such-suite")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsource: y.jsonl\nformat: csv\n")
    with pytest.raises(RlaifError, match=r"bad\.yaml: invalid suite: format"):
        load_suite(bad)
    missing = tmp_path / "missing.yaml"
    missing.write_text("source: nowhere.jsonl\n")
    with pytest.raises(RlaifError, match="nowhere.jsonl' not found"):
        load_labelled_pairs(missing)


def test_hub_suite_maps_raw_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hh-rlhf hub suite reads raw transcripts (the hub call itself is replaced here)."""
    import datasets

    calls = {}

    def fake_load_dataset(repo, data_dir=None, split=None):
        calls.update(repo=repo, data_dir=data_dir, split=split)
        return datasets.Dataset.from_list(RAW_HH)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    loaded = load_labelled_pairs("hh-rlhf-harmless-base")
    assert calls == {"repo": "Anthropic/hh-rlhf", "data_dir": "harmless-base", "split": "test"}
    assert [p.id for p in loaded.pairs] == [
        "hh-rlhf/harmless-base/test/0",
        "hh-rlhf/harmless-base/test/1",
    ]
    assert loaded.pairs[0].subset == "harmless-base/test"


def test_hub_unreachable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RlaifError, match="from the Hugging Face hub: ConnectionError.*local path"):
        load_labelled_pairs("hf:Anthropic/hh-rlhf", data_dir="harmless-base")


def test_every_builtin_suite_is_valid() -> None:
    for name, path in builtin_suites().items():
        suite = load_suite(path)
        assert suite.name == name and suite.description and suite.license


def test_package_import_stays_light() -> None:
    import subprocess
    import sys

    heavy = ("sklearn", "scipy", "matplotlib", "torch", "transformers")
    code = (
        f"import sys, rlaif.eval as e; loaded = [m for m in {heavy!r} if m in sys.modules]; "
        "assert not loaded, loaded; assert callable(e.run_agreement)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""Loaders: prompt sets, pairs (human-labelled too), hh-rlhf transcripts, HF datasets, TRL."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rlaif.constitution import load_constitution
from rlaif.data import (
    DataFileError,
    PreferenceRecord,
    SFTRecord,
    builtin_prompt_sets,
    load_hh_rlhf,
    load_pairs,
    load_preferences,
    load_prompts,
    load_sft,
    parse_hh_transcript,
    records_to_dataset,
)
from rlaif.data.manifest import Manifest
from rlaif.data.publish import dataset_card, write_parquet


def _preference(i: int, *, consistent: bool | None = True, metadata: dict | None = None):
    return PreferenceRecord(
        prompt=[{"role": "user", "content": f"Question {i}?"}],
        chosen=[{"role": "assistant", "content": f"A careful answer {i}."}],
        rejected=[{"role": "assistant", "content": f"A reckless answer {i}."}],
        p_chosen=0.8,
        margin=0.6,
        consistent=consistent,
        principles=["overall-harm"],
        judge="fake/judge",
        strategy="judge",
        id=f"p{i}",
        metadata=metadata if metadata is not None else {"p_by_order": {"12": 0.9, "21": 0.7}},
    )


def test_builtin_prompt_sets_are_complete_and_disjoint() -> None:
    assert set(builtin_prompt_sets()) >= {"red_team_train", "red_team_test", "benign"}
    train, test, benign = (load_prompts(n) for n in ("red_team_train", "red_team_test", "benign"))
    assert len(train) >= 200 and len(test) >= 100 and len(benign) >= 100
    texts = [json.dumps(p.prompt) for p in [*train, *test, *benign]]
    assert len(set(texts)) == len(texts)
    assert not {p.id for p in train} & {p.id for p in test}
    harm = {p.id for p in load_constitution("cai-harmless").resolved_principles if not p.is_general}
    assert {p.category for p in train} == harm == {p.category for p in test}
    lookalikes = [p for p in benign if p.category == "benign-lookalike"]
    assert len(lookalikes) >= 30
    assert any("kill a Python process" in p.prompt[-1]["content"] for p in lookalikes)
    assert any(len(p.prompt) > 1 for p in train) and any(len(p.prompt) > 1 for p in test)


def test_prompt_files_accept_strings_and_reject_bad_conversations(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "prompt": "Hello"}\n')
    assert load_prompts(path)[0].prompt == [{"role": "user", "content": "Hello"}]
    path.write_text('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n')
    with pytest.raises(DataFileError, match=r"p\.jsonl:2: duplicate id 'a'"):
        load_prompts(path)
    path.write_text('{"id": "a", "prompt": [{"role": "assistant", "content": "x"}]}\n')
    with pytest.raises(DataFileError, match="must end with a user turn"):
        load_prompts(path)
    with pytest.raises(DataFileError, match="built-in prompt sets: benign"):
        load_prompts("no-such-set")


def test_human_labelled_pairs_are_shuffled_with_the_label_kept(tmp_path: Path) -> None:
    path = tmp_path / "human.jsonl"
    rows = [
        {
            "id": f"h{i}",
            "prompt": [{"role": "user", "content": f"q{i}"}],
            "chosen": f"good {i}",
            "rejected": f"bad {i}",
            "label_origin": "human",
        }
        for i in range(40)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = load_pairs(path)
    firsts = [p.metadata["human_preferred"] for p in pairs]
    assert 10 < firsts.count(1) < 30  # position does not give the answer away
    for pair in pairs:
        good = pair.response_1 if pair.metadata["human_preferred"] == 1 else pair.response_2
        assert good.startswith("good") and pair.metadata["label_origin"] == "human"
    assert [p.metadata["human_preferred"] for p in load_pairs(path)] == firsts  # seeded


def test_shared_human_pairs_load(shared_data: Path) -> None:
    pairs = load_pairs(shared_data / "hh_harmless_test_dev.jsonl")
    assert len(pairs) == 600
    assert all(p.prompt[-1]["role"] == "user" for p in pairs)
    assert {p.metadata["human_preferred"] for p in pairs} == {1, 2}


def test_hh_rlhf_transcripts_are_split_into_turns(tmp_path: Path) -> None:
    transcript = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I pick a lock?"
    assert parse_hh_transcript(transcript) == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "How do I pick a lock?"},
    ]
    path = tmp_path / "train.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        line = {
            "chosen": transcript + "\n\nAssistant: I can't help.",
            "rejected": transcript + "\n\nAssistant: Use a pick.",
        }
        handle.write(json.dumps(line) + "\n")
        bad = {"chosen": transcript + "\n\nAssistant: x", "rejected": "\n\nHuman: other"}
        handle.write(json.dumps(bad) + "\n")
    with pytest.raises(DataFileError, match=r"train\.jsonl\.gz:2: chosen and rejected differ"):
        load_hh_rlhf(path)


def test_preference_datasets_keep_columns_metadata_and_parquet(tmp_path: Path) -> None:
    records = [_preference(0), _preference(1, consistent=None, metadata={})]
    path = tmp_path / "prefs.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in records))
    dataset = load_preferences(path)
    assert dataset.column_names[:3] == ["prompt", "chosen", "rejected"]
    # datasets decodes Json columns with ujson, which may be one ulp off.
    assert dataset[0]["metadata"] == {"p_by_order": {"12": 0.9, "21": pytest.approx(0.7)}}
    assert dataset[1]["metadata"] == {} and dataset[1]["consistent"] is None
    parquet = write_parquet(path, "preferences")
    assert load_preferences(parquet).to_list() == dataset.to_list()
    sft = SFTRecord(
        messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
        initial="b",
        critiques=["c"],
        revisions=["a"],
        principles=["overall-harm"],
        id="s",
    )
    sft_path = tmp_path / "sft.jsonl"
    sft_path.write_text(sft.model_dump_json() + "\n")
    assert load_sft(sft_path)[0]["messages"][-1]["content"] == "a"
    assert len(records_to_dataset([], "preferences")) == 0


def test_dataset_card_states_constitution_judge_and_counts() -> None:
    manifest = Manifest(
        output="prefs.jsonl",
        kind="preferences",
        settings={"mode": "logprob"},
        constitution={"name": "cai-harmless", "version": "1.0", "hash": "abc123"},
        judge="hf/judge",
        counts={"records": 10, "skipped": 2},
        packages={"trl": "1.12.0"},
    )
    card = dataset_card(manifest)
    for text in ("cai-harmless", "abc123", "hf/judge", "| records | 10 |", "| mode | logprob |"):
        assert text in card


def test_trl_reward_and_dpo_trainers_accept_the_dataset(tmp_path: Path) -> None:
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer

    from rlaif.models.local.tiny import build_tiny_model

    path = tmp_path / "prefs.jsonl"
    path.write_text("".join(_preference(i).model_dump_json() + "\n" for i in range(4)))
    dataset = load_preferences(path)
    common = {"report_to": [], "use_cpu": True, "max_length": 128, "save_strategy": "no"}
    reward_model = build_tiny_model(tmp_path / "rm", sequence_classification=True)
    tokenizer = AutoTokenizer.from_pretrained(reward_model)
    reward = RewardTrainer(
        model=str(reward_model),
        args=RewardConfig(output_dir=str(tmp_path / "r"), **common),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    prepared = reward.train_dataset[0]
    assert prepared["chosen_ids"] != prepared["rejected_ids"] and prepared["margin"] == 0.6
    policy = build_tiny_model(tmp_path / "policy")
    dpo = DPOTrainer(
        model=str(policy),
        args=DPOConfig(output_dir=str(tmp_path / "d"), **common),
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(policy),
    )
    prepared = dpo.train_dataset[0]
    assert prepared["prompt_ids"] and prepared["chosen_ids"] != prepared["rejected_ids"]
    text = tokenizer.decode(prepared["chosen_ids"])
    assert "A careful answer 0." in text


def test_push_to_hub_uploads_the_dataset_and_its_card(tmp_path: Path, monkeypatch) -> None:
    import datasets
    import huggingface_hub

    from rlaif.data.manifest import write_manifest
    from rlaif.data.publish import push_to_hub

    path = tmp_path / "prefs.jsonl"
    path.write_text(_preference(0).model_dump_json() + "\n")
    manifest = Manifest(output=path.name, kind="preferences", settings={}, judge="fake/judge")
    write_manifest(manifest, path)
    pushed: list[tuple] = []
    monkeypatch.setattr(
        datasets.Dataset, "push_to_hub", lambda self, repo, **kw: pushed.append((repo, len(self)))
    )

    class FakeApi:
        def __init__(self, token: str | None = None) -> None:
            pass

        def upload_file(self, **kwargs: object) -> None:
            pushed.append(("card", kwargs["repo_id"], kwargs["repo_type"], kwargs["path_in_repo"]))
            assert b"fake/judge" in kwargs["path_or_fileobj"]  # type: ignore[operator]

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    push_to_hub(path, "me/prefs")
    assert pushed == [("me/prefs", 1), ("card", "me/prefs", "dataset", "README.md")]

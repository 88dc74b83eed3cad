"""Reward model on AI labels: learns a learnable rule, the column wiring is right, soft labels
reach TRL as margins, and human-label accuracy is reported beside the AI held-out accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from train_helpers import changed_tensors, human_style, marker_pairs, write_jsonl

from rlaif.data import DataFileError
from rlaif.train import train_reward_model


def _config(policy: Path, data: Path, out: Path, **extra: Any) -> dict[str, Any]:
    return {
        "model": str(policy),
        "dataset": str(data),
        "output_dir": str(out),
        "learning_rate": 3e-3,
        "per_device_train_batch_size": 8,
        "max_length": 128,
        "logging_steps": 5,
        **extra,
    }


@pytest.fixture(scope="module")
def rule_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rule")
    return {
        "train": write_jsonl(folder / "train.jsonl", marker_pairs(64, seed=0)),
        "swapped": write_jsonl(folder / "swapped.jsonl", marker_pairs(64, seed=0, swap=True)),
        # Correctly oriented pairs never seen in training, in the human-labelled file format.
        "independent": write_jsonl(folder / "eval.jsonl", human_style(marker_pairs(32, seed=9))),
    }


def test_reward_model_learns_the_rule(
    tiny_policy: Path, rule_data: dict[str, Path], tmp_path: Path
) -> None:
    result = train_reward_model(
        _config(
            tiny_policy,
            rule_data["train"],
            tmp_path / "rm",
            max_steps=30,
            eval_fraction=0.25,
            human_eval=str(rule_data["independent"]),
        )
    )
    accuracy = result.metrics["accuracy"]
    assert accuracy["ai_heldout"]["n"] == 16
    assert accuracy["ai_heldout"]["accuracy"] >= 0.9
    assert accuracy["human"]["accuracy"] >= 0.9
    assert result.metrics["global_step"] == 30
    saved = json.loads((tmp_path / "rm" / "config.json").read_text())
    assert saved["architectures"] == ["LlamaForSequenceClassification"]
    assert changed_tensors(tiny_policy, tmp_path / "rm")


def test_swapped_columns_fail_the_independent_check(
    tiny_policy: Path, rule_data: dict[str, Path], tmp_path: Path
) -> None:
    result = train_reward_model(
        _config(
            tiny_policy,
            rule_data["swapped"],
            tmp_path / "rm",
            max_steps=30,
            eval_fraction=0.0,
            human_eval=str(rule_data["independent"]),
        )
    )
    assert result.metrics["accuracy"]["human"]["accuracy"] <= 0.1


def test_soft_labels_reach_trl_as_margins(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    from transformers import TrainerCallback

    seen: dict[str, Any] = {}

    class Probe(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            seen["batch"] = next(iter(kwargs["train_dataloader"]))

    rows = [json.loads(line) for line in (data_dir / "prefs.jsonl").read_text().splitlines()]
    result = train_reward_model(
        _config(
            tiny_policy,
            data_dir / "prefs.jsonl",
            tmp_path / "rm",
            max_steps=2,
            margin_scale=2.0,
            eval_fraction=0.0,
            drop_inconsistent=True,
            center_rewards_coefficient=0.01,
            per_device_train_batch_size=64,
        ),
        callbacks=[Probe()],
    )
    expected = sorted(round(2.0 * (2 * r["p_chosen"] - 1), 4) for r in rows if r["consistent"])
    assert sorted(round(m, 4) for m in seen["batch"]["margin"].tolist()) == expected
    assert result.metrics["data"]["dropped"] == {
        "inconsistent across orders": len(rows) - len(expected)
    }


def test_margin_mode_needs_soft_labels(
    tiny_policy: Path, rule_data: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(DataFileError, match="label_mode: hard"):
        train_reward_model(_config(tiny_policy, rule_data["independent"], tmp_path / "rm"))


def test_accuracy_on_human_labels_side_by_side(
    tiny_policy: Path, data_dir: Path, shared_data: Path, tmp_path: Path
) -> None:
    result = train_reward_model(
        _config(
            tiny_policy,
            data_dir / "prefs.jsonl",
            tmp_path / "rm",
            max_steps=2,
            human_eval=str(shared_data / "hh_harmless_test_dev.jsonl"),
            human_eval_limit=6,
        )
    )
    metrics = json.loads((tmp_path / "rm" / "metrics.json").read_text())["accuracy"]
    assert metrics["ai_heldout"]["n"] >= 1
    assert metrics["human"]["n"] == 6 and 0.0 <= metrics["human"]["accuracy"] <= 1.0
    assert metrics["human"]["file"].endswith("hh_harmless_test_dev.jsonl")
    assert result.metrics["accuracy"] == metrics


def test_train_and_eval_score_with_one_scorer(tiny_reward_model: Path) -> None:
    """The model as ``train rm`` holds it (train loaders) and as ``eval rm`` loads it score the
    same conversations identically, token ids as TRL's RewardTrainer makes them."""
    from trl.data_utils import _tokenize

    from rlaif.models.local.reward_scorer import RewardScorer, encode_conversation
    from rlaif.train.loading import load_reward_model, load_tokenizer

    tokenizer = load_tokenizer(str(tiny_reward_model))
    model = load_reward_model(str(tiny_reward_model), tokenizer, dtype="float32")
    in_training = RewardScorer(model, tokenizer, max_length=1024)
    in_eval = RewardScorer.from_folder(tiny_reward_model, device="cpu")
    conversations = [
        RewardScorer.conversation([{"role": "user", "content": f"question {i}"}], "reply " * i)
        for i in range(1, 7)
    ]
    expected = _tokenize(tokenizer, conversations[2])["input_ids"]
    assert encode_conversation(tokenizer, conversations[2]) == list(expected)
    scores = in_training.score(conversations, batch_size=4)
    assert scores.tolist() == pytest.approx(in_eval.score(conversations).tolist(), abs=1e-5)


def test_train_rm_and_eval_rm_report_the_same_accuracy(
    tiny_policy: Path, rule_data: dict[str, Path], tmp_path: Path
) -> None:
    """Same model, same human-labelled pairs: ``train rm`` and ``eval rm`` agree (one scorer,
    one accuracy definition with ties counted half)."""
    from rlaif.eval.rm.run import evaluate_reward_model

    result = train_reward_model(
        _config(
            tiny_policy,
            rule_data["train"],
            tmp_path / "rm",
            max_steps=3,
            eval_fraction=0.0,
            human_eval=str(rule_data["independent"]),
        )
    )
    trained = result.metrics["accuracy"]["human"]
    evaluated = evaluate_reward_model(
        tmp_path / "rm", str(rule_data["independent"]), max_length=128, n_resamples=100
    )
    row = evaluated.results[evaluated.judges[0]]
    assert evaluated.n_pairs == trained["n"] == 32
    assert row.accuracy.value == pytest.approx(trained["accuracy"])

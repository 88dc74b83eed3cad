"""From the annotation store to ``rlaif eval agreement``: the labels two annotators give on the
page's six pairs (the ratings of the browser test) measure a judge, with their own kappa beside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.annotate import LabelInput, LabelStore, load_annotation_pairs
from rlaif.cli.app import app


def test_eval_agreement_on_labels_from_the_store(pairs_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels.jsonl"
    store = LabelStore(load_annotation_pairs(pairs_file), out)
    ratings = {"alice": [1, 2, 3, 4, 1, 2], "bob": [4, 1, 4, 1, 2, 4]}
    for annotator, keys in ratings.items():
        for i, rating in enumerate(keys):
            store.add(LabelInput(pair_id=f"p{i}", annotator=annotator, rating=rating))
    store.add(LabelInput(pair_id="p0", annotator="alice", rating=3))  # changed: the latest wins
    store.close()
    alice, bob = (store.labels_of(name) for name in ratings)
    agreed = sum(alice[p].preferred == bob[p].preferred for p in alice)

    result = CliRunner().invoke(
        app,
        [
            *("eval", "agreement", "--judge", "fake/prefer-first", "--mode", "logprob"),
            *("--data", str(out), "--pairs", str(pairs_file), "--resamples", "100"),
            *("--out", str(tmp_path / "agreement")),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "human–human agreement" in result.output and "Cohen's kappa" in result.output
    metrics = json.loads((tmp_path / "agreement" / "metrics.json").read_text())
    human = metrics["human"]
    assert human["annotators"] == ["alice", "bob"]
    assert (human["label_lines"], human["labels_in_force"]) == (13, 12)
    assert human["agreement_with_majority"]["value"] == pytest.approx(agreed / 6)
    assert human["tied_pairs"] == 6 - agreed and metrics["n_pairs"] == agreed
    assert agreed == 6 and human["cohen_kappa"]["value"] == pytest.approx(1.0)
    row = metrics["results"]["fake/prefer-first [logprob]"]
    assert row["n_pairs"] == 6 and row["accuracy"]["value"] == pytest.approx(0.5)

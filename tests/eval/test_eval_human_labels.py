"""Judges measured against your own human labels (a labels file and its pairs): majority and
ties, latest label wins, inter-annotator kappa and alpha, the CLI, the report and the gate."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import assert_html_lists_every_metric, shown_responses, write_jsonl
from judge_helpers import with_request_check
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.data import DataFileError, PairRecord, load_pairs
from rlaif.errors import RlaifError
from rlaif.eval import human_labelled_pairs
from rlaif.eval.agreement.run import AgreementSettings, JudgeSpec, run_agreement
from rlaif.judge.gate import AgreementGateError, check_agreement_gate

runner = CliRunner()


def pairs_rows(n: int) -> list[dict]:
    """``n`` response_1/response_2 pairs ``q0..``; response 1 always starts with "First"."""
    return [
        {
            "id": f"q{i}",
            "prompt": [{"role": "user", "content": f"Question {i}?"}],
            "response_1": f"First answer {i}.",
            "response_2": f"Second answer {i}.",
        }
        for i in range(n)
    ]


def label(pair_id: str, annotator: str, preferred: int, strength: str = "better", **extra):
    """One labels-file line."""
    return {
        "pair_id": pair_id,
        "annotator": annotator,
        "preferred": preferred,
        "strength": strength,
        "shown": [1, 2],
        "seconds": 3.0,
        "time": "2026-12-02T08:30:01.123+00:00",
        **extra,
    }


def two_annotator_table(tmp_path: Path) -> tuple[Path, Path]:
    """Ten pairs labelled by alice and bob: 4 both 1, 4 both 2, 2 split (one each way), so
    observed agreement 0.8, chance agreement 0.5 and Cohen's kappa 0.6."""
    pairs = write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(10))
    a = [1, 1, 1, 1, 2, 2, 2, 2, 1, 2]
    b = [1, 1, 1, 1, 2, 2, 2, 2, 2, 1]
    rows = [label(f"q{i}", "alice", a[i]) for i in range(10)]
    rows += [label(f"q{i}", "bob", b[i], "slightly" if i < 3 else "better") for i in range(10)]
    return write_jsonl(tmp_path / "labels.jsonl", rows), pairs


def agreement_args(*extra: object) -> list[str]:
    """``rlaif eval agreement`` with the fake first-picking judge and ``extra`` arguments."""
    return ["eval", "agreement", "--judge", "fake/prefer-first", *map(str, extra)]


def load(labels: Path, pairs: Path, **kwargs):
    return human_labelled_pairs(
        labels, load_pairs(pairs), pairs_source=str(pairs), n_resamples=200, **kwargs
    )


def test_two_annotators_kappa_of_a_known_table_and_of_perfect_agreement(tmp_path: Path):
    labels, pairs = two_annotator_table(tmp_path)
    loaded = load(labels, pairs)
    human = loaded.human
    assert human is not None and human.annotators == ["alice", "bob"]
    assert human.cohen_kappa is not None
    assert human.cohen_kappa.value == pytest.approx(0.6)
    assert human.krippendorff_alpha is None  # kappa for two, alpha for three or more
    # Leave-one-out with two annotators: each against the other, 8 of 10 agree.
    assert human.agreement_with_majority is not None
    assert human.agreement_with_majority.value == pytest.approx(0.8)
    assert human.agreement_with_majority.n == 20
    assert [r.agreement_with_others.value for r in human.annotator_rows] == [0.8, 0.8]
    assert human.annotator_rows[1].slightly_rate == pytest.approx(0.3)
    # The two split pairs tie 1-1: left out of the judges' pairs, counted and listed.
    assert human.tied_pairs == 2 and human.pairs_measured == 8 and len(loaded.pairs) == 8
    assert {s["id"] for s in loaded.skipped} == {"q8", "q9"}
    assert "tie" in loaded.skipped[0]["reason"]

    perfect = write_jsonl(
        tmp_path / "perfect.jsonl",
        [label(f"q{i}", who, 1 + i % 2) for who in ("alice", "bob") for i in range(4)],
    )
    human = load(perfect, pairs).human
    assert human is not None and human.cohen_kappa is not None
    assert human.cohen_kappa.value == pytest.approx(1.0)
    assert human.agreement_with_majority.value == 1.0  # type: ignore[union-attr]


def test_majority_strength_ties_and_the_latest_label_winning(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "krippendorff", _recording_krippendorff([]))
    pairs = write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(4))
    rows = [
        label("q0", "alice", 1),
        label("q0", "bob", 2),
        label("q0", "carol", 2),
        label("q0", "alice", 2, "slightly"),  # alice changes her mind: 3-0 for response 2
        label("q1", "alice", 1),
        label("q1", "bob", 2),  # 1-1: a tie
        label("q2", "alice", 2, "better"),
        label("q2", "bob", 2, "slightly", both_unacceptable=True),
        label("q2", "carol", 1),  # 2-1 for response 2; one "better" of two: slightly better
        label("q3", "carol", 1, "better"),  # one annotator: theirs
    ]
    loaded = load(write_jsonl(tmp_path / "labels.jsonl", rows), pairs)
    by_id = {p.id: p for p in loaded.pairs}
    assert list(by_id) == ["q0", "q2", "q3"]
    assert by_id["q0"].chosen == "Second answer 0." and by_id["q0"].subset == "better"
    assert by_id["q0"].metadata["human_votes"] == {"1": 0, "2": 3}
    assert by_id["q2"].chosen == "Second answer 2." and by_id["q2"].subset == "slightly better"
    assert by_id["q2"].metadata["human_share"] == pytest.approx(2 / 3)
    assert by_id["q3"].chosen == "First answer 3." and by_id["q3"].subset == "better"
    human = loaded.human
    assert human is not None
    assert (human.label_lines, human.labels_in_force) == (10, 9)
    assert (human.pairs_labelled, human.pairs_multiply_labelled, human.tied_pairs) == (4, 3, 1)
    assert human.by_strength == {"better": 2, "slightly better": 1}
    assert human.both_unacceptable == 1
    rows_by = {r.annotator: r for r in human.annotator_rows}
    # alice: q0 (others 2-0 for 2: agrees), q1 (other: bob 2, she 1: disagrees), q2 (others
    # tie 1-1: not counted) -> 1 of 2.
    assert rows_by["alice"].agreement_with_others.value == pytest.approx(0.5)
    assert rows_by["alice"].agreement_with_others.n == 2
    # carol: q0 agrees, q2 (others 2-0 for 2, she 1) disagrees, q3 nobody else.
    assert rows_by["carol"].agreement_with_others.n == 2
    assert human.krippendorff_alpha == 0.25  # the stub's answer: it was asked


def _recording_krippendorff(calls: list) -> types.ModuleType:
    """A stand-in ``krippendorff`` module that records what it is asked and answers 0.25."""
    module = types.ModuleType("krippendorff")

    def alpha(**kwargs):
        calls.append(kwargs)
        return 0.25

    module.alpha = alpha  # type: ignore[attr-defined]
    return module


def test_alpha_gets_annotators_by_pairs_with_missing_labels_as_nan(tmp_path: Path, monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, "krippendorff", _recording_krippendorff(calls))
    pairs = write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(3))
    rows = [label("q0", w, v) for w, v in (("a", 1), ("b", 1), ("c", 2))]
    rows += [label("q1", "a", 2), label("q1", "b", 2)]
    rows += [label("q2", "c", 1)]  # one label: not pairable, left out
    human = load(write_jsonl(tmp_path / "labels.jsonl", rows), pairs).human
    assert human is not None and human.cohen_kappa is None
    (call,) = calls
    assert call["level_of_measurement"] == "nominal"
    data = call["reliability_data"]
    assert data.shape == (3, 2)  # annotators a, b, c x pairs q0, q1
    np.testing.assert_array_equal(data[:, 0], [1, 1, 2])
    np.testing.assert_array_equal(data[:2, 1], [2, 2])
    assert np.isnan(data[2, 1])


def test_alpha_of_hand_checked_cases(tmp_path: Path):
    pytest.importorskip("krippendorff", reason="the krippendorff package is not installed")
    pairs = write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(3))
    # Units (1,1,1), (2,2,2), (1,1,2): coincidences o11=4, o22=3, o12=o21=1, so
    # D_o = 2/9, D_e = 2*5*4/(9*8) = 5/9 and alpha = 1 - 0.4 = 0.6.
    votes = {"q0": (1, 1, 1), "q1": (2, 2, 2), "q2": (1, 1, 2)}
    rows = [label(p, w, v) for p, vs in votes.items() for w, v in zip("abc", vs, strict=True)]
    human = load(write_jsonl(tmp_path / "labels.jsonl", rows), pairs).human
    assert human is not None and human.krippendorff_alpha == pytest.approx(0.6)
    perfect = [label(p, w, 1 + i % 2) for i, p in enumerate(votes) for w in "abc"]
    human = load(write_jsonl(tmp_path / "perfect.jsonl", perfect), pairs).human
    assert human is not None and human.krippendorff_alpha == pytest.approx(1.0)


def test_a_label_for_a_pair_not_in_the_pairs_file_names_the_file_and_line(tmp_path: Path):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(2))
    rows = [label("q0", "alice", 1), label("q1", "alice", 2), label("nope", "alice", 1)]
    labels = write_jsonl(tmp_path / "labels.jsonl", rows)
    with pytest.raises(DataFileError, match=r"labels\.jsonl:3: pair id 'nope' is not in"):
        load(labels, pairs)
    result = runner.invoke(
        app,
        agreement_args("--data", labels, "--pairs", pairs, "--out", tmp_path / "out"),
    )
    assert result.exit_code == 2
    message = result.output.strip()
    assert "\n" not in message and f"{labels}:3: pair id 'nope'" in message
    # A labels file without its pairs is refused with a hint, in one line too.
    result = runner.invoke(
        app,
        agreement_args("--data", labels, "--out", tmp_path / "out"),
    )
    assert result.exit_code == 2 and "give --pairs" in result.output
    with pytest.raises(RlaifError, match="every one is tied"):
        load(
            write_jsonl(tmp_path / "tied.jsonl", [label("q0", "a", 1), label("q0", "b", 2)]), pairs
        )


def majority_judge(rows: list[dict]):
    """``choice_probs`` of a fake judge preferring response 1 ("First ...") except on ``q3``."""

    def probs(conversation, choices):
        a, _ = shown_responses(conversation)
        prefers_a = a.startswith("First") != ("answer 3." in a)
        return {"A": 0.9, "B": 0.1} if prefers_a else {"A": 0.1, "B": 0.9}

    return with_request_check(probs)


def test_cli_on_labels_puts_the_human_ceiling_beside_the_judge_and_the_gate_reads_it(
    tmp_path: Path,
):
    labels, pairs = two_annotator_table(tmp_path)
    out = tmp_path / "agreement"
    result = runner.invoke(
        app,
        agreement_args(
            "--mode",
            "logprob",
            "--data",
            labels,
            "--pairs",
            pairs,
            "--resamples",
            200,
            "--out",
            out,
        ),
    )
    assert result.exit_code == 0, result.output
    assert "human–human agreement 80.0%" in result.output
    assert "Cohen's kappa 0.600" in result.output and "majority of 2 annotator(s)" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["human"]["cohen_kappa"]["value"] == pytest.approx(0.6)
    assert metrics["n_pairs"] == 8 and len(metrics["data"]["skipped"]) == 2
    row = metrics["results"]["fake/prefer-first [logprob]"]
    assert set(row["by_subset"]) == {"better", "slightly better"}
    report = (out / "report.md").read_text()
    assert "## Human annotators" in report and "human annotators (leave-one-out majority)" in report
    assert "2 pairs whose annotators tie are left out" in report
    assert_html_lists_every_metric((out / "report.html").read_text(), metrics)

    # The gate reads these metrics like any others, and names the human ceiling.
    with pytest.raises(AgreementGateError, match=r"the annotators agree 80\.0%"):
        check_agreement_gate("fake/prefer-first", out, min_agreement=0.7)
    passed = check_agreement_gate("fake/prefer-first", out, min_agreement=0.4)
    assert "human–human 80.0%" in passed.summary()
    # `rlaif label --agreement` takes the same file; a labels file there gets a hint.
    with pytest.raises(AgreementGateError, match="is a labels file, not agreement metrics"):
        check_agreement_gate("fake/prefer-first", labels, min_agreement=0.4)


def test_judge_is_scored_against_the_majority_per_strength_and_the_gate_passes_or_fails(
    tmp_path: Path,
):
    labels, pairs = two_annotator_table(tmp_path)
    loaded = load(labels, pairs)
    spec = JudgeSpec(
        model="fake/first",
        label="first",
        mode="logprob",
        options={"choice_probs": majority_judge(pairs_rows(10))},
    )
    settings = AgreementSettings(data=str(labels), n_resamples=200)
    run = run_agreement([spec], settings, out=tmp_path / "run", loaded=loaded)
    row = run.metrics.results["first"]
    # Majority: q0-q3 response 1, q4-q7 response 2 (q8, q9 tie). The judge says response 1
    # everywhere but q3: right on q0-q2 only.
    assert row.accuracy.value == pytest.approx(3 / 8)
    # bob said "slightly" on q0-q2, alice "better": 1 of 2 -> those pairs are slightly better.
    assert row.by_subset["slightly better"].value == 1.0
    assert row.by_subset["better"].value == 0.0
    assert run.metrics.human is not None and run.metrics.human.pairs_measured == 8
    with pytest.raises(AgreementGateError, match="below min_agreement 0.5"):
        check_agreement_gate("fake/first", tmp_path / "run", min_agreement=0.5)
    check_agreement_gate("fake/first", tmp_path / "run", min_agreement=0.3)


def test_a_new_label_that_turns_the_majority_is_judged_again(tmp_path: Path):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(2))
    rows = [label("q0", "a", 1), label("q1", "a", 2)]
    asked: list[str] = []

    def probs(conversation, choices):
        asked.append(shown_responses(conversation)[0])
        return {"A": 0.9, "B": 0.1}

    spec = JudgeSpec(
        model="fake/x",
        label="x",
        mode="logprob",
        options={"choice_probs": with_request_check(probs)},
    )
    settings = AgreementSettings(data="labels", n_resamples=100)
    out = tmp_path / "run"
    first = load(write_jsonl(tmp_path / "labels.jsonl", rows), pairs)
    run_agreement([spec], settings, out=out, loaded=first, report=False)
    calls = len(asked)
    rows.append(label("q0", "a", 2))  # the latest label of a on q0 turns it
    turned = load(write_jsonl(tmp_path / "labels.jsonl", rows), pairs)
    run_agreement([spec], settings, out=out, loaded=turned, report=False)
    assert 0 < len(asked) - calls < calls  # q0 again, q1 from the stored judgments


def test_pipeline_gate_settings_take_labels_with_their_pairs(tmp_path: Path):
    from pydantic import ValidationError

    from rlaif.pipeline.config import GateSettings

    GateSettings(labels="l.jsonl", pairs="p.jsonl", min_agreement=0.6)
    with pytest.raises(ValidationError, match="labels and pairs go together"):
        GateSettings(labels="l.jsonl")
    with pytest.raises(ValidationError, match="not both"):
        GateSettings(data="d.jsonl", labels="l.jsonl", pairs="p.jsonl")


def test_pipeline_gate_measures_the_judge_on_labels_and_refuses_it(tmp_path: Path):
    from types import SimpleNamespace

    from rlaif.models import get_model
    from rlaif.models.model import ModelSpec
    from rlaif.pipeline.config import GateSettings
    from rlaif.pipeline.stages import _measured_gate

    labels, pairs = two_annotator_table(tmp_path)
    judge = ModelSpec(name="fake/first")
    model = get_model("fake/first", choice_probs=majority_judge(pairs_rows(10)))

    def context(min_agreement: float):
        gate = GateSettings(labels=str(labels), pairs=str(pairs), min_agreement=min_agreement)
        config = SimpleNamespace(
            stages=SimpleNamespace(label=SimpleNamespace(gate=gate, mode="logprob")),
            models=SimpleNamespace(judge=judge),
            seed=0,
            principles_per_pair=None,
        )
        return SimpleNamespace(
            config=config,
            stage_dir=tmp_path / "label",
            input_path=Path,
            optional_input=lambda relative: None,
            resolve_constitution=lambda: "cai-harmless",
            models=SimpleNamespace(get=lambda spec: model),
        )

    # The stage measures the judge; the label job checks the gate before any call.
    gate = _measured_gate(context(0.3))  # type: ignore[arg-type]
    assert gate is not None and gate.metrics == str(tmp_path / "label" / "gate" / "metrics.json")
    assert "human–human 80.0%" in gate.check("fake/first").summary()
    metrics = json.loads((tmp_path / "label" / "gate" / "metrics.json").read_text())
    assert metrics["human"]["labels_file"] == str(labels)
    refusing = _measured_gate(context(0.5))  # type: ignore[arg-type]
    assert refusing is not None
    with pytest.raises(AgreementGateError, match="failed the agreement gate"):
        refusing.check("fake/first")


def test_pairs_of_any_shape_work_with_their_ids(tmp_path: Path):
    records = [
        PairRecord(
            id="x", prompt=[{"role": "user", "content": "hi"}], response_1="a", response_2="b"
        )
    ]
    labels = write_jsonl(tmp_path / "labels.jsonl", [label("x", "alice", 2, "slightly")])
    loaded = human_labelled_pairs(labels, records, pairs_source="mem", n_resamples=100)
    (pair,) = loaded.pairs
    assert (pair.chosen, pair.rejected, pair.subset) == ("b", "a", "slightly better")
    assert loaded.human is not None and loaded.human.agreement_with_majority is None
    assert any("one annotator" in note for note in loaded.human.notes)


def test_only_a_labels_file_is_taken_for_one(tmp_path: Path):
    from rlaif.data import is_human_labels_file

    labels, pairs = two_annotator_table(tmp_path)
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: x\nsource: pairs.jsonl\n", encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    assert is_human_labels_file(labels)
    assert not any(is_human_labels_file(p) for p in (pairs, suite, broken))

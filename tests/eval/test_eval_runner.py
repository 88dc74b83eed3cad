"""The agreement runner: positions, resume without repeated judge calls, and the gate on its
output (with a scripted judge; tests with the real PairwiseJudge are in test_eval_judges.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_helpers import ScriptedJudge, oracle, synthetic_pairs

from rlaif.errors import RlaifError
from rlaif.eval.agreement.run import AgreementSettings, JudgeSpec, run_agreement
from rlaif.judge.gate import AgreementGateError, check_agreement_gate
from rlaif.runs import ResultStore


def factory_for(judges: dict[str, ScriptedJudge]):
    return lambda spec, model: judges[spec.name]


def settings(pairs_file: Path, **kwargs) -> AgreementSettings:
    return AgreementSettings(data=str(pairs_file), n_resamples=200, **kwargs)


def test_runner_measures_agreeing_and_disagreeing_judges(pairs_file: Path, tmp_path: Path):
    rows = synthetic_pairs()
    judges = {
        "fake/good": ScriptedJudge(oracle(rows)),
        "fake/bad": ScriptedJudge(oracle(rows, wrong={r["id"] for r in rows})),
    }
    specs = [JudgeSpec(model=name) for name in judges]
    out = tmp_path / "run"
    run = run_agreement(specs, settings(pairs_file), out=out, judge_factory=factory_for(judges))
    results = run.metrics.model_dump(mode="json")["results"]
    assert results["fake/good"]["accuracy"]["value"] == 1.0
    assert results["fake/bad"]["accuracy"]["value"] == 0.0
    assert results["fake/good"]["consistency"]["value"] == 1.0
    # Response 1 is the human choice on half of the pairs, so position is not the label.
    shown_first = [j.p_response_1 > 0.5 for j in run.judgments["fake/good"]]
    assert sum(shown_first) == 12
    for name in ("metrics.json", "report.md", "report.html", "judgments/fake_good.jsonl"):
        assert (out / name).is_file(), name
    assert json.loads((out / "metrics.json").read_text())["results"]["fake/good"]


def test_rerun_resumes_without_asking_the_judge_again(pairs_file: Path, tmp_path: Path):
    rows = synthetic_pairs()
    judge = ScriptedJudge(oracle(rows))
    out = tmp_path / "run"
    spec = [JudgeSpec(model="fake/good")]
    first = run_agreement(
        spec,
        settings(pairs_file),
        out=out,
        judge_factory=factory_for({"fake/good": judge}),
        report=False,
    )
    assert len(judge.asked) == 24
    # A killed run leaves a truncated last line: that pair (only) is judged again.
    path = out / "judgments" / "fake_good.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][:40])
    again = ScriptedJudge(oracle(rows))
    second = run_agreement(
        spec,
        settings(pairs_file),
        out=out,
        judge_factory=factory_for({"fake/good": again}),
        report=False,
    )
    assert len(again.asked) == 1
    timing = {"seconds_per_1000", "call_seconds_per_1000"}
    for name, row in first.metrics.model_dump(mode="json")["results"].items():
        resumed = second.metrics.model_dump(mode="json")["results"][name]
        assert {k: v for k, v in resumed.items() if k not in timing} == {
            k: v for k, v in row.items() if k not in timing
        }
    assert len(ResultStore(path).rows) == 24


def test_other_seed_in_the_same_folder_is_refused(pairs_file: Path, tmp_path: Path):
    judges = {"fake/good": ScriptedJudge(oracle(synthetic_pairs()))}
    out = tmp_path / "run"
    spec = [JudgeSpec(model="fake/good")]
    run_agreement(
        spec, settings(pairs_file), out=out, judge_factory=factory_for(judges), report=False
    )
    with pytest.raises(RlaifError, match="use a new --out folder"):
        run_agreement(
            spec,
            settings(pairs_file, seed=1),
            out=out,
            judge_factory=factory_for(judges),
            report=False,
        )


def test_limit_measures_a_seeded_subset(pairs_file: Path):
    judge = ScriptedJudge(oracle(synthetic_pairs()))
    run = run_agreement(
        [JudgeSpec(model="fake/good")],
        settings(pairs_file, limit=10),
        judge_factory=factory_for({"fake/good": judge}),
        report=False,
    )
    assert run.metrics.n_pairs == 10 and len(judge.asked) == 10


def test_gate_passes_the_agreeing_judge_and_refuses_the_other(pairs_file: Path, tmp_path: Path):
    rows = synthetic_pairs()
    judges = {
        "fake/good": ScriptedJudge(oracle(rows)),
        # right on 6 of 24, and position-biased so the two orders often disagree
        "fake/bad": ScriptedJudge(oracle(rows, wrong={r["id"] for r in rows[6:]}, first_bias=0.4)),
    }
    out = tmp_path / "run"
    run_agreement(
        [JudgeSpec(model=n) for n in judges],
        settings(pairs_file),
        out=out,
        judge_factory=factory_for(judges),
        report=False,
    )
    passed = check_agreement_gate(
        "fake/good", out / "metrics.json", min_agreement=0.9, min_consistency=0.9
    )
    assert passed.agreement.value == 1.0 and "passed" in passed.summary()
    with pytest.raises(AgreementGateError) as failure:
        check_agreement_gate("fake/bad", out, min_agreement=0.6)
    message = str(failure.value)
    assert "fake/bad" in message and "min_agreement 0.6" in message
    assert "human agreement 0.250" in message and str(out / "metrics.json") in message
    with pytest.raises(AgreementGateError, match="position consistency .* below min_consistency"):
        check_agreement_gate("fake/bad", out, min_consistency=0.9)

"""`rlaif run` checks every input its config names before anything runs: a missing prompt set,
human-labelled set or gate data is listed (all of them, exit status 2) by
`--dry-run` and stops a real run at once; the human data may be a built-in suite name."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.pipeline.api import make_runner
from rlaif.pipeline.inputs import MissingInputsError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scripted  # noqa: E402  (registers the scripted judge)


def _config(folder: Path, **sections: Any) -> Path:
    """The scripted pipeline (a placeholder policy: nothing here loads it), with ``sections``
    merged into its top level (``stages`` one level deeper)."""
    path = scripted.write_config(folder, folder / "no-policy")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in sections.items():
        if key == "stages":
            for stage, fields in value.items():
                config["stages"][stage] = {**config["stages"].get(stage, {}), **fields}
        else:
            config[key] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with nothing in it, apart from the config's folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "config"


def test_dry_run_lists_every_missing_input_and_runs_nothing(elsewhere: Path) -> None:
    elsewhere.mkdir()
    path = _config(
        elsewhere,
        prompts={"test": "nope.jsonl"},
        stages={
            "eval": {"human_data": "../shared/data/hh_harmless_test_dev.jsonl"},
            "label": {"gate": {"min_agreement": 0.6}},
        },
    )
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2, result.output
    output = result.output
    assert "3 inputs of this run not found (nothing was run)" in output
    assert "prompts.test: 'nope.jsonl' not found" in output
    assert (
        "stages.eval.human_data: ../shared/data/hh_harmless_test_dev.jsonl: no such file" in output
    )
    assert "null skips the agreement" in output
    assert "stages.label.gate.data: not set" in output
    assert "Traceback" not in output and "estimated model calls" not in output
    assert not (elsewhere / "runs").exists()


def test_a_real_run_stops_before_any_stage(elsewhere: Path) -> None:
    elsewhere.mkdir()
    path = _config(elsewhere, stages={"eval": {"human_data": "gone.jsonl"}})
    logged: list[str] = []
    runner = make_runner(path, log=logged.append)
    with pytest.raises(MissingInputsError) as error:
        runner.run()
    assert error.value.missing == [
        f"stages.eval.human_data: gone.jsonl: no such file (looked in {elsewhere} and here), hub "
        "id (hf:owner/name) or built-in suite (built-in suites: hh-harmless, "
        "hh-rlhf-harmless-base, hh-rlhf-helpful-base) (null skips the agreement and the reward "
        "model's accuracy on human labels)"
    ]
    assert logged == [] and not runner.run_dir.exists()


def test_human_data_by_suite_name_or_beside_the_config(elsewhere: Path) -> None:
    elsewhere.mkdir()
    builtin = make_runner(_config(elsewhere, stages={"eval": {"human_data": "hh-harmless"}}))
    assert builtin.plan()[-1].name == "eval"
    assert builtin.context("eval").labelled_data("hh-harmless") == "hh-harmless"
    beside = make_runner(_config(elsewhere))  # human.jsonl, written beside the config
    assert beside.context("eval").labelled_data("human.jsonl") == str(elsewhere / "human.jsonl")
    assert beside.plan()[-1].name == "eval"


def test_a_disabled_eval_stage_does_not_need_human_data(elsewhere: Path) -> None:
    elsewhere.mkdir()
    path = _config(
        elsewhere,
        stages={"eval": {"enabled": False, "human_data": "gone.jsonl"}, "rm": {"enabled": False}},
    )
    assert [stage.name for stage in make_runner(path).plan()][-1] != "eval"


def test_no_human_data_costs_no_agreement_calls(elsewhere: Path) -> None:
    elsewhere.mkdir()
    with_data = make_runner(_config(elsewhere)).plan()[-1]
    without = make_runner(_config(elsewhere, stages={"eval": {"human_data": None}})).plan()[-1]
    per_pair = make_runner(_config(elsewhere)).context("eval")
    from rlaif.pipeline.dry_run import judge_calls_per_pair

    human_limit = 4  # scripted.write_config's stages.eval.human_limit
    assert with_data.estimated_calls["judge"] - without.estimated_calls["judge"] == (
        human_limit * judge_calls_per_pair(per_pair)
    )


def test_judge_limit_and_judge_agreement_bound_the_evaluations_judge_calls(
    elsewhere: Path,
) -> None:
    from rlaif.pipeline.dry_run import judge_calls_per_pair

    elsewhere.mkdir()
    per_pair = judge_calls_per_pair(make_runner(_config(elsewhere)).context("eval"))
    human_limit = 4  # scripted.write_config's stages.eval.human_limit
    one = {"judge_limit": 1}
    limited = make_runner(_config(elsewhere, stages={"eval": one})).plan()[-1]
    # One red-team and one benign prompt: a comparison and two refusal verdicts each.
    assert limited.estimated_calls["judge"] == 2 * (per_pair + 2) + human_limit * per_pair
    no_agreement = {**one, "judge_agreement": False}
    alone = make_runner(_config(elsewhere, stages={"eval": no_agreement})).plan()[-1]
    assert alone.estimated_calls["judge"] == 2 * (per_pair + 2)
    assert alone.estimated_calls["policy"] == limited.estimated_calls["policy"]  # every prompt


def test_a_path_leaving_the_library_is_not_found_beside_the_checkout(
    elsewhere: Path, shared_data: Path
) -> None:
    """`../shared/...` exists beside this checkout (an editable install's library); from a
    config and a working directory elsewhere it is missing, not read from there."""
    elsewhere.mkdir()
    relative = "../shared/data/hh_harmless_test_dev.jsonl"
    path = _config(elsewhere, prompts={"test": relative})
    with pytest.raises(MissingInputsError, match=r"prompts\.test: '\.\./shared/data/"):
        make_runner(path).plan()
    assert make_runner(_config(elsewhere)).context("plan").input_path("eval/prompts/benign.jsonl")

"""The built-in human-labelled suite `hh-harmless` (400 Anthropic HH-RLHF pairs shipped in the
package with their license), how a suite's relative source resolves, and that nothing the
package ships points at the development data beside the checkout."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.constitution.library import eval_dir
from rlaif.data import DataFileError
from rlaif.eval.loaders import labelled_pairs_file, load_labelled_pairs, locate_labelled_data
from rlaif.eval.suites import builtin_suites, find_suite, load_suite
from rlaif.pipeline.config import EvalStage
from rlaif.train.data import preference_rows

REPO = Path(__file__).resolve().parents[2]
SHIPPED = eval_dir() / "data" / "hh_harmless_test.jsonl"


def _pair(index: int) -> dict[str, object]:
    return {
        "id": f"p{index}",
        "prompt": [{"role": "user", "content": f"question {index}"}],
        "chosen": "no",
        "rejected": "yes",
    }


def _write_pairs(path: Path, count: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(_pair(i)) + "\n" for i in range(count)), encoding="utf-8")
    return path


def test_the_builtin_suite_loads_400_human_labelled_pairs() -> None:
    assert "hh-harmless" in builtin_suites()
    loaded = load_labelled_pairs("hh-harmless")
    assert loaded.total == 400 and len(loaded.pairs) == 400 and not loaded.skipped
    assert len({pair.id for pair in loaded.pairs}) == 400
    assert all(pair.metadata == {"label_origin": "human"} for pair in loaded.pairs)
    assert all(pair.id.startswith("hh-rlhf/harmless-base/test/") for pair in loaded.pairs)
    assert all(pair.prompt[-1]["role"] == "user" for pair in loaded.pairs)
    suite = find_suite("hh-harmless")
    assert suite is not None and suite.resolve_path() == SHIPPED.resolve()
    assert not Path(suite.source).is_absolute()  # read from the suite file's own folder


def test_the_shipped_data_keeps_its_license_and_attribution() -> None:
    folder = SHIPPED.parent
    license_text = (folder / "LICENSE-hh-rlhf").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License\n\nCopyright (c) 2022 Anthropic\n")
    assert "Permission is hereby granted, free of charge" in license_text
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "https://github.com/anthropics/hh-rlhf" in readme
    assert "354e5c3cb8960630860dd5774a6ac2a58313bf4d" in readme and "LICENSE-hh-rlhf" in readme
    suite = load_suite(builtin_suites()["hh-harmless"])
    assert "MIT" in suite.license and "Anthropic" in suite.license and suite.citation


def test_only_the_shippable_sample_is_in_the_repository() -> None:
    """The development and Auto-J files stay beside the checkout; the shipped file is the
    disjoint sample whose license allows a copy."""
    folders = ("eval", "rlaif", "configs", "docs", "tests", "benchmarks", "principles")
    names = {path.name for folder in folders for path in (REPO / folder).rglob("*.jsonl*")}
    assert not names & {"hh_harmless_test_dev.jsonl", "autoj_pairwise_dev.jsonl"}
    shipped = {json.loads(line)["id"] for line in SHIPPED.read_text(encoding="utf-8").splitlines()}
    dev = REPO.parent / "shared" / "data" / "hh_harmless_test_dev.jsonl"
    if dev.is_file():
        lines = dev.read_text(encoding="utf-8").splitlines()
        assert not shipped & {json.loads(line)["id"] for line in lines}


def test_the_builtin_suite_resolves_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file where the suite's relative source would point from the working directory must not
    # replace the packaged data: the suite file's own folder comes first.
    _write_pairs(tmp_path / "data" / "hh_harmless_test.jsonl", 3)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    loaded = load_labelled_pairs("hh-harmless", limit=10, seed=1)
    assert len(loaded.pairs) == 10 and loaded.total == 400
    assert locate_labelled_data("hh-harmless") == "hh-harmless"


def test_a_relative_source_is_not_resolved_against_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suite elsewhere whose source exists only relative to the checkout (where an editable
    install's library sits) is not found: it would read whatever file sits there."""
    assert (REPO / "eval" / "data" / "hh_harmless_test.jsonl").is_file()
    suite = tmp_path / "suites" / "mine.yaml"
    suite.parent.mkdir()
    suite.write_text("source: eval/data/hh_harmless_test.jsonl\nformat: pairs\n", "utf-8")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(DataFileError, match="not found") as error:
        load_labelled_pairs(suite)
    assert str(REPO) not in str(error.value)


def test_a_suite_reads_beside_itself_before_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_pairs(tmp_path / "suites" / "pairs.jsonl", 2)
    _write_pairs(tmp_path / "work" / "pairs.jsonl", 5)
    suite = tmp_path / "suites" / "mine.yaml"
    suite.write_text("source: pairs.jsonl\n", "utf-8")
    monkeypatch.chdir(tmp_path / "work")
    assert len(load_labelled_pairs(suite).pairs) == 2
    written_here = tmp_path / "work" / "here.yaml"  # no file beside it: the working directory
    written_here.write_text("source: pairs.jsonl\n", "utf-8")
    (tmp_path / "work" / "pairs.jsonl").rename(tmp_path / "work" / "x.jsonl")
    _write_pairs(tmp_path / "work" / "sub" / "pairs.jsonl", 4)
    monkeypatch.chdir(tmp_path / "work" / "sub")
    assert len(load_labelled_pairs(written_here).pairs) == 4


def test_the_pipeline_default_human_data_is_the_builtin_suite() -> None:
    assert EvalStage().human_data == "hh-harmless"
    assert find_suite(EvalStage().human_data) is not None


def test_nothing_the_package_ships_names_the_data_beside_the_checkout() -> None:
    """`../shared` (the development data) may appear only in tests and benchmarks."""
    pattern = re.compile(r"\.\./shared")
    offenders = []
    for folder in ("rlaif", "configs", "docs", "eval", "principles", "constitution"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".yaml", ".yml", ".md", ".j2", ".toml"}:
                text = path.read_text(encoding="utf-8")
                offenders += [str(path.relative_to(REPO)) for _ in pattern.finditer(text)]
    assert offenders == []


def test_train_rm_reads_the_builtin_suite_as_a_pair_file(tmp_path: Path) -> None:
    path = labelled_pairs_file("hh-harmless")
    assert path == SHIPPED.resolve()
    rows, stats = preference_rows(path)
    assert stats.read == 400 and len(rows) == 400
    with pytest.raises(DataFileError, match="rlaif eval rm"):
        labelled_pairs_file("hh-rlhf-harmless-base")  # a hub suite: not a local pair file
    with pytest.raises(DataFileError, match="built-in suites: .*hh-harmless"):
        labelled_pairs_file(str(tmp_path / "missing.jsonl"))


def test_train_rm_takes_a_suite_name_for_human_eval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = {}

    def record(algorithm: str, settings: object) -> object:
        seen["human_eval"] = settings.human_eval  # type: ignore[attr-defined]
        raise SystemExit(0)

    monkeypatch.setattr("rlaif.cli.training.run_training", record)
    pairs = _write_pairs(tmp_path / "ai.jsonl", 4)
    fields = [f"model={tmp_path}", f"dataset={pairs}", f"output_dir={tmp_path / 'out'}"]
    result = CliRunner().invoke(app, ["train", "rm", *fields, "--human-eval", "hh-harmless"])
    assert result.exit_code == 0, result.output
    assert seen["human_eval"] == str(SHIPPED.resolve())
    config = tmp_path / "rm.yaml"  # the same name in the training config
    config.write_text("human_eval: hh-harmless\n", encoding="utf-8")
    seen.clear()
    result = CliRunner().invoke(app, ["train", "rm", "--config", str(config), *fields])
    assert result.exit_code == 0 and seen["human_eval"] == str(SHIPPED.resolve())
    missing = CliRunner().invoke(app, ["train", "rm", *fields, "--human-eval", "nope"])
    assert missing.exit_code == 2 and "nope: no such file" in missing.output

"""The principles and constitution commands, through Typer's runner, with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif import __version__
from rlaif.cli.app import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_principles_list_table_json_and_tag() -> None:
    table = run("principles", "list")
    assert table.exit_code == 0 and "self-harm" in table.output
    as_json = run("principles", "list", "--json", "--tag", "privacy")
    assert as_json.exit_code == 0
    ids = [p["id"] for p in json.loads(as_json.stdout)]
    assert "privacy-and-doxxing" in ids and "self-harm" not in ids


def test_principles_show_and_unknown_id() -> None:
    shown = run("principles", "show", "self-harm")
    assert shown.exit_code == 0 and "compare:" in shown.output
    missing = run("principles", "show", "self-harn")
    assert missing.exit_code == 2
    assert "did you mean 'self-harm'" in missing.output
    assert "Traceback" not in missing.output


def test_validate_exit_codes_and_every_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("principles", "validate").exit_code == 0
    Path("bad1.yaml").write_text("principles:\n  - id: a\n    title: t\n")
    Path("bad2.yaml").write_text("principles: [\n")
    result = run("principles", "validate", "bad1.yaml", "bad2.yaml")
    assert result.exit_code == 1
    assert "bad1.yaml:2:5: principles[0].description: field required" in result.output
    assert "bad1.yaml:2:5: principles[0].critique: field required" in result.output
    assert "bad2.yaml:" in result.output and "invalid YAML" in result.output


def test_new_writes_a_scaffold_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "mine.yaml"
    assert run("principles", "new", "be-kind", "--out", str(out)).exit_code == 0
    assert run("principles", "validate", str(out)).exit_code == 0
    again = run("principles", "new", "be-kind", "--out", str(out))
    assert again.exit_code == 2 and "--force" in again.output
    assert run("principles", "new", "Bad Id", "--out", str(tmp_path / "x.yaml")).exit_code == 2


def test_constitution_list_show_validate() -> None:
    listed = run("constitution", "list")
    assert listed.exit_code == 0
    assert all(name in listed.output for name in ("cai-harmless", "hhh", "minimal"))
    shown = run("constitution", "show", "minimal")
    assert shown.exit_code == 0 and "overall-harm" in shown.output
    assert run("constitution", "validate").exit_code == 0


@pytest.mark.parametrize("stage", ["critique", "revision", "compare", "compare_cot", "score"])
def test_render_every_stage(stage: str) -> None:
    result = run("constitution", "render", "cai-harmless", "--stage", stage)
    assert result.exit_code == 0, result.output
    assert "--- user ---" in result.output
    if stage.startswith("compare"):
        assert "\n(A) " in result.output and "\n(B) " in result.output
    if stage == "compare":
        assert result.output.rstrip().endswith("--- assistant ---\nThe answer is (")
    if stage == "score":
        assert result.output.rstrip().endswith("--- assistant ---\nAnswer:")


def test_render_user_errors_exit_2() -> None:
    assert run("constitution", "render", "minimal", "--stage", "judge").exit_code == 2
    unknown = run("constitution", "render", "cai-harmles")
    assert unknown.exit_code == 2 and "did you mean 'cai-harmless'" in unknown.output


def test_debug_shows_the_traceback() -> None:
    result = run("--debug", "constitution", "show", "no-such-constitution")
    assert result.exit_code != 0
    assert result.exception is not None and type(result.exception).__name__ == "ConstitutionError"


def test_principles_list_and_show_take_your_own_files(tmp_path: Path) -> None:
    out = tmp_path / "mine" / "p.yaml"
    assert run("principles", "new", "be-kind", "--out", str(out)).exit_code == 0
    listed = run("principles", "list", str(tmp_path / "mine"))
    assert listed.exit_code == 0, listed.output
    assert "be-kind" in listed.output and "self-harm" not in listed.output
    assert "1 principles" in listed.output
    shown = run("principles", "show", "be-kind", "--from", str(out))
    assert shown.exit_code == 0 and "tags: ['custom']" in shown.output
    missing = run("principles", "show", "self-harm", "--from", str(out))
    assert missing.exit_code == 2 and "no principle in the given files 'self-harm'" in (
        missing.output
    )
    empty = run("principles", "list", str(tmp_path / "nothing"))
    assert empty.exit_code == 2


def test_the_scaffold_serves_a_constitution_without_templates(tmp_path: Path, monkeypatch) -> None:
    """The scaffold asks a pointwise question too, so a constitution that leaves templates out
    gets every built-in one, the pointwise judge's included."""
    monkeypatch.chdir(tmp_path)
    assert run("principles", "new", "be-kind", "--out", "mine/p.yaml").exit_code == 0
    Path("c.yaml").write_text("name: c\nprinciples:\n  include: [mine/p.yaml]\n")
    shown = run("constitution", "show", "c.yaml")
    assert shown.exit_code == 0, shown.output
    assert "score: constitution/templates/score_question.j2 (built-in)" in shown.output
    assert "warning" not in shown.output
    assert run("constitution", "render", "c.yaml", "--stage", "score").exit_code == 0


def test_constitution_validate_reports_each_file_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nprinciples:\n  include: [harmlessness]\n")
    (tmp_path / "b.yaml").write_text("name: b\nprinciples:\n  include: [harmlessnes]\n")
    result = run("constitution", "validate", str(tmp_path))
    assert result.exit_code == 1
    assert "ok: a (25 principles" in result.output
    assert "b.yaml:3:13: principles.include[0]: no built-in principle file named " in (
        result.output
    )
    assert "did you mean 'harmlessness'?" in result.output

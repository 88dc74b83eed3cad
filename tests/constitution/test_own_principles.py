"""A user's own principles and constitution, in a folder of their own: the README's walk-through
runs from an empty folder, a principle the selectors leave out is reported at its file and line,
templates may be left out, and every constitution of a folder validates."""

from __future__ import annotations

import re
import shlex
import shutil
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.constitution import (
    ConstitutionError,
    UnselectedPrincipleWarning,
    check_paths,
    library,
    load_constitution,
)
from rlaif.constitution.schema import BUILTIN_TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Writing your own principles\n")[1].split("\n## ")[0]


def readme_blocks() -> list[tuple[str, str]]:
    """The section's code blocks in order: (language, text)."""
    return re.findall(r"```(\w+)\n(.*?)```", readme_section(), re.DOTALL)


def cli(*args: str, columns: int | None = None):
    env = {"COLUMNS": str(columns) if columns else None}
    return runner.invoke(app, list(args), env=env)


def follow_readme(folder: Path, monkeypatch, *, skip_yaml: str | None = None) -> list[str]:
    """Run the section as a newcomer would, in ``folder``: each bash line (the part before
    its comment), each YAML block written to the file its first line names. Returns the
    outputs; every command must succeed."""
    monkeypatch.chdir(folder)
    outputs = []
    for language, body in readme_blocks():
        if language == "yaml":
            target = body.splitlines()[0].removeprefix("#").strip()
            if target != skip_yaml:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                Path(target).write_text(body, encoding="utf-8")
            continue
        assert language == "bash"
        for line in body.splitlines():
            command = line.split("  #")[0].strip()
            if not command:
                continue
            words = shlex.split(command)
            assert words[0] == "rlaif", command
            result = runner.invoke(app, words[1:])
            assert result.exit_code == 0, f"{command}\n{result.output}"
            outputs.append(result.output)
    return outputs


# The README walk-through --------------------------------------------------------------------


def test_the_readme_walk_through_runs_in_an_empty_folder(tmp_path: Path, monkeypatch) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnselectedPrincipleWarning)
        outputs = follow_readme(tmp_path, monkeypatch)
    everything = "\n".join(outputs)
    assert "warning:" not in everything
    assert "no-doxxing" in everything  # listed, shown, in the constitution
    constitution = load_constitution(tmp_path / "my_constitution.yaml")
    assert "no-doxxing" in [p.id for p in constitution.resolved_principles]
    # Built-in templates, and the pointwise question, since every principle asks one.
    assert constitution.templates.score == BUILTIN_TEMPLATES["score"]
    assert "score: constitution/templates/score_question.j2 (built-in)" in everything


def test_the_readme_puts_user_files_in_their_own_folder() -> None:
    section = readme_section()
    targets = [b.splitlines()[0] for lang, b in readme_blocks() if lang == "yaml"]
    assert targets == ["# my_principles/privacy.yaml", "# my_constitution.yaml"]
    for builtin_folder in ("principles/", "constitution/"):
        for language, body in readme_blocks():
            if language == "bash":
                assert f" {builtin_folder}" not in body, body
    assert "../shared" not in section
    yaml_text = "".join(b for lang, b in readme_blocks() if lang == "yaml")
    assert not re.search(r"^templates:", yaml_text, re.MULTILINE)  # left out: the built-ins


def test_the_scaffold_left_as_it_is_is_reported(tmp_path: Path, monkeypatch) -> None:
    """The newcomer who forgets to edit the scaffold's ``tags: [custom]``: told where, and
    which selectors missed it, by every command of the walk-through and by loading."""
    monkeypatch.chdir(tmp_path)
    follow_readme(tmp_path, monkeypatch, skip_yaml="my_principles/privacy.yaml")
    expected = re.compile(
        r"my_principles/privacy\.yaml:4:9: principle 'no-doxxing' \(tags: custom\) is left "
        r"out of constitution 'my-constitution': none of its selectors keep it "
        r"\(principles\.tags: \[harmlessness\] at my_constitution\.yaml:\d+:\d+\)"
    )
    for command in (
        ["principles", "validate", "my_principles/", "my_constitution.yaml"],
        ["constitution", "validate", "my_constitution.yaml"],
        ["constitution", "validate", "."],
        ["constitution", "show", "my_constitution.yaml"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        assert expected.search(result.output), (command, result.output)
        assert "warning: my_principles/privacy.yaml:4:9:" in result.output
    with pytest.warns(UnselectedPrincipleWarning, match=expected.pattern):
        constitution = load_constitution("my_constitution.yaml")
    assert "no-doxxing" not in [p.id for p in constitution.resolved_principles]
    assert len(constitution.warnings) == 1


# Unselected principles --------------------------------------------------------------------

PRINCIPLE = """\
  - id: {id}
    title: T
    description: D.
    critique: C?
    revision: R.
    compare: Which?
    tags: [{tags}]
"""


def write_user_files(folder: Path, selection: str, *principles: tuple[str, str]) -> Path:
    (folder / "mine").mkdir(exist_ok=True)
    body = "".join(PRINCIPLE.format(id=i, tags=t) for i, t in principles)
    (folder / "mine" / "p.yaml").write_text("principles:\n" + body)
    constitution = folder / "c.yaml"
    constitution.write_text(
        f"name: c\nprinciples:\n  include: [mine/p.yaml, harmlessness]\n{selection}"
    )
    return constitution


def load_quietly(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnselectedPrincipleWarning)
        return load_constitution(path)


def test_a_principle_no_id_or_tag_keeps_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write_user_files(tmp_path, "  ids: [overall-harm, a]\n", ("a", "x"), ("b", "y"))
    with pytest.warns(UnselectedPrincipleWarning) as caught:
        constitution = load_constitution(path)
    assert [p.id for p in constitution.resolved_principles] == ["a", "overall-harm"]
    (warning,) = constitution.warnings
    assert (warning.line, warning.column) == (9, 9)  # the id of 'b', the second principle
    assert warning.file.endswith("mine/p.yaml")
    assert "principle 'b' (tags: y)" in warning.message
    assert "principles.ids: [overall-harm, a] at " in warning.message
    assert str(warning) in str(caught[0].message)


def test_several_left_out_make_one_warning_per_file(tmp_path: Path) -> None:
    path = write_user_files(
        tmp_path, "  tags: [harmlessness]\n", ("a", "x"), ("b", "y"), ("c", "harmlessness")
    )
    with pytest.warns(UnselectedPrincipleWarning):
        (warning,) = load_constitution(path).warnings
    assert "2 principles of this file (a, b) are left out" in warning.message
    assert (warning.line, warning.column) == (2, 9)  # the first of them


@pytest.mark.parametrize(
    "selection",
    [
        "",  # no selector: every included principle is kept
        "  tags: [harmlessness, x]\n",
        "  ids: [a]\n  tags: [harmlessness]\n",
        "  tags: [harmlessness]\n  exclude: [a]\n",  # left out on purpose
    ],
)
def test_kept_or_excluded_principles_are_not_reported(tmp_path: Path, selection: str) -> None:
    load_quietly(write_user_files(tmp_path, selection, ("a", "x")))


def test_the_built_in_library_is_filtered_without_a_word(tmp_path: Path) -> None:
    """``minimal`` keeps 1 of the 25 built-in harmlessness principles: that is what a selection
    is for, and so is a user's constitution that does the same with a built-in set."""
    assert load_quietly(library.constitutions_dir() / "minimal.yaml").warnings == []
    mine = tmp_path / "c.yaml"
    mine.write_text("name: c\nprinciples:\n  include: [harmlessness]\n  ids: [overall-harm]\n")
    assert load_quietly(mine).warnings == []
    assert check_paths([library.principles_dir(), library.constitutions_dir()]).warnings == []


def test_principles_validate_reports_a_file_no_constitution_includes(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_user_files(tmp_path, "", ("a", "x"))
    Path("mine/extra.yaml").write_text("principles:\n" + PRINCIPLE.format(id="z", tags="x"))
    result = cli("principles", "validate", "mine/", "c.yaml")
    assert result.exit_code == 0, result.output
    assert "warning: mine/extra.yaml:1:1: no constitution validated here includes this file" in (
        result.output
    )
    assert "mine/p.yaml" not in result.output
    assert "(1 warning(s))" in result.output
    # Principle files validated alone: nothing to compare them with, so no warning.
    alone = cli("principles", "validate", "mine/")
    assert alone.exit_code == 0 and "warning" not in alone.output


# Templates left out ------------------------------------------------------------------------


def test_a_constitution_without_templates_gets_the_built_in_ones(tmp_path: Path) -> None:
    path = write_user_files(tmp_path, "", ("a", "x"))
    constitution = load_quietly(path)
    templates = library.constitutions_dir() / "templates"
    for stage in ("critique", "revision", "compare", "compare_cot"):
        assert constitution.template_source(stage) == (templates / f"{stage}.j2").read_text()
    # 'a' asks no pointwise question, so the built-in score template would not load: none.
    assert constitution.templates.score is None and constitution.template_name("score") is None
    principle = constitution.principle("a")
    assert constitution.messages("critique", prompt="hi", response="yo", principle=principle)


def test_the_score_template_defaults_when_every_principle_asks_a_question(
    tmp_path: Path,
) -> None:
    path = write_user_files(tmp_path, "", ("a", "x"))
    text = (tmp_path / "mine" / "p.yaml").read_text()
    (tmp_path / "mine" / "p.yaml").write_text("score: Is it fine?\n" + text)
    constitution = load_quietly(path)
    assert constitution.templates.score == "templates/score_question.j2"
    builtin = library.constitutions_dir() / "templates" / "score_question.j2"
    assert constitution.template_source("score") == builtin.read_text()


def test_some_templates_given_the_others_built_in(tmp_path: Path) -> None:
    path = write_user_files(tmp_path, "", ("a", "x"))
    (tmp_path / "compare.j2").write_text("Mine: {{ response_a }} / {{ response_b }}")
    path.write_text(path.read_text() + "templates:\n  compare: compare.j2\n")
    constitution = load_quietly(path)
    assert constitution.template_source("compare").startswith("Mine:")
    builtin = library.constitutions_dir() / "templates" / "critique.j2"
    assert constitution.template_source("critique") == builtin.read_text()
    assert constitution.templates.score is None  # a templates mapping without score: none


def test_a_copied_built_in_constitution_loads_anywhere(tmp_path: Path) -> None:
    """Its ``templates/critique.j2`` are not beside the copy: the built-in ones are used, and
    the copy is the same constitution, hash and all."""
    for name in library.builtin_constitution_files():
        copy = tmp_path / f"{name}.yaml"
        shutil.copy(library.constitutions_dir() / f"{name}.yaml", copy)
        assert load_quietly(copy).content_hash() == load_constitution(name).content_hash()


def test_a_template_beside_the_constitution_wins_over_the_built_in(tmp_path: Path) -> None:
    path = write_user_files(tmp_path, "", ("a", "x"))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "critique.j2").write_text("Own: {{ response }} {{ request }}")
    path.write_text(path.read_text() + "templates:\n  critique: templates/critique.j2\n")
    assert load_quietly(path).template_source("critique").startswith("Own:")


def test_a_missing_template_is_still_an_error(tmp_path: Path) -> None:
    path = write_user_files(tmp_path, "", ("a", "x"))
    path.write_text(path.read_text() + "templates:\n  critique: templates/critiqe.j2\n")
    with pytest.raises(ConstitutionError) as error:
        load_constitution(path)
    message = str(error.value)
    assert "c.yaml:5:13: templates.critique: file not found: 'templates/critiqe.j2'" in message
    assert "nor a built-in template" in message


# constitution validate DIR -----------------------------------------------------------------


def test_constitution_validate_takes_a_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_user_files(tmp_path, "", ("a", "x"))
    Path("sub").mkdir()
    Path("sub/bad.yaml").write_text("name: bad\nprinciples:\n  include: [nothing-here]\n")
    result = cli("constitution", "validate", ".")
    assert result.exit_code == 1, result.output
    assert "ok: c (" in result.output  # the good one, from the folder
    assert "sub/bad.yaml:3:13: principles.include[0]: no built-in principle file" in (result.output)
    assert "mine/p.yaml" not in result.output  # a principle file is not a constitution
    Path("sub/bad.yaml").unlink()
    assert cli("constitution", "validate", ".").exit_code == 0
    empty = cli("constitution", "validate", "mine")
    assert empty.exit_code == 2 and "mine: no constitution" in empty.output
    # The built-in folder, by path, as `principles validate` takes it.
    assert cli("constitution", "validate", str(library.constitutions_dir())).exit_code == 0


# Tables at 80 columns ----------------------------------------------------------------------


def table_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line[:1] in "┃│┏┡└"]


def test_principles_list_at_80_columns_shows_whole_ids(tmp_path: Path) -> None:
    result = cli("principles", "list", columns=80)
    assert result.exit_code == 0
    assert "…" not in result.output
    assert max(len(line) for line in table_lines(result.output)) <= 80
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    first_cells = {line.split("│")[1].strip() for line in rows}
    from rlaif.constitution import load_principles

    assert {p.id for p in load_principles()} <= first_cells  # every id whole, on one line
    header = table_lines(result.output)[1]
    assert [c.strip() for c in header.split("┃")[1:-1]] == ["id", "weight", "title [tags]"]


def test_constitution_list_at_80_columns_keeps_names_and_headers(tmp_path: Path) -> None:
    result = cli("constitution", "list", columns=80)
    assert result.exit_code == 0
    assert "…" not in result.output
    assert max(len(line) for line in table_lines(result.output)) <= 80
    header = table_lines(result.output)[1]
    cells = [c.strip() for c in header.split("┃")[1:-1]]
    assert cells == ["name", "version", "principles", "rounds", "per pair", "description"]
    for name in library.builtin_constitution_files():
        assert f"│ {name} " in result.output


def test_off_a_terminal_tables_get_160_columns() -> None:
    """Piped or captured output (CI logs, ``| less``) without COLUMNS: as the progress displays,
    160 columns, so a table is laid out as on a wide terminal, not cut at rich's 80."""
    result = cli("constitution", "list")
    assert result.exit_code == 0
    widths = {len(line) for line in table_lines(result.output)}
    assert max(widths) > 80
    assert max(widths) <= 160

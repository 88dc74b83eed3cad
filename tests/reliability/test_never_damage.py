# ruff: noqa: E501  (the table keeps one case per line)
"""No command damages a user's file (issue 27, "Never damage a file").

- An existing ``--out`` is written into only when its manifest says it is this kind of job's
  output; anything else (a text file, pretty JSON, someone's JSONL, a file whose manifest names
  another file or kind, side files without a manifest) is refused.
- No command writes into its own input (same path, another spelling, a hard link, the JSONL
  behind a ``.parquet`` out, a side file).
- A malformed last line without a newline is an error naming ``file:line``, never dropped.

Each refused probe exits 2 with one ``error:`` line and no traceback, and leaves every file of the
workspace byte-identical (sha256 before and after) with no file added. Then the positive side:
our own output cut short by a killed run is still repaired (with a warning) and resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.annotate.store import LabelInput, LabelStore
from rlaif.cli.app import app
from rlaif.data import DataFileError, JsonlWriter, PairRecord
from rlaif.data.jsonl import repair_tail
from rlaif.runs import ResultStore

PAIR = {
    "id": "p1",
    "prompt": [{"role": "user", "content": "hi"}],
    "response_1": "hello",
    "response_2": "go away",
}
PREFERENCE = {
    "prompt": [{"role": "user", "content": "hi"}],
    "chosen": [{"role": "assistant", "content": "hello"}],
    "rejected": [{"role": "assistant", "content": "go away"}],
    "p_chosen": 0.9,
    "margin": 0.8,
    "consistent": True,
    "principles": ["harm"],
    "judge": "fake/judge",
    "strategy": "judge",
    "id": "p1",
    "metadata": {},
}
CANDIDATE = {
    "id": "q1",
    "prompt": [{"role": "user", "content": "hi"}],
    "responses": ["a", "b"],
    "model": "fake/p",
}
SFT = {
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    "initial": "hey",
    "critiques": [],
    "revisions": [],
    "principles": [],
    "id": "s1",
}


def _line(row: dict) -> str:
    return json.dumps(row) + "\n"


def _manifest(output: str, kind: str) -> str:
    return json.dumps({"output": output, "kind": kind, "settings": {}})


FILES: dict[str, str] = {
    # inputs
    "pairs.jsonl": _line(PAIR),
    "prompts.jsonl": _line({"id": "q1", "prompt": "hi"}),
    "candidates.jsonl": _line(CANDIDATE),
    "sft.jsonl": _line(SFT),
    "prefs.jsonl": _line(PREFERENCE),
    # inputs whose last line is cut short (no newline, not valid JSON)
    "torn_pairs.jsonl": _line(PAIR) + '{"id": "p2", "prompt": [{"role": "us',
    "torn_prompts.jsonl": _line({"id": "q1", "prompt": "hi"}) + '{"id": "q2", "pro',
    "torn_prefs.jsonl": _line(PREFERENCE) + '{"prompt": [{"role"',
    # files that are not ours
    "notes.txt": "my precious notes",  # one line, no newline
    "pretty.json": '[\n  {"a": 1}\n]',  # pretty-printed JSON without a final newline
    "theirs.jsonl": _line({"id": "x1", "mine": True}) + _line({"id": "x2", "mine": True}),
    "table.parquet": "PAR1 someone's table",
    "lonely.skipped.jsonl": _line({"id": "x1", "mine": True}),  # a side file, no manifest
    # ours, but of another kind or for another file
    "cands.jsonl": _line(CANDIDATE),
    "cands.manifest.json": _manifest("cands.jsonl", "candidates"),
    "renamed.jsonl": _line(CANDIDATE),
    "renamed.manifest.json": _manifest("original.jsonl", "candidates"),
    "dataset.jsonl": _line(PREFERENCE),
    "dataset.manifest.json": _manifest("dataset.jsonl", "preferences"),
    "sub/.keep": "",
}

LABEL = ["label", "--constitution", "cai-harmless", "--judge", "fake/judge", "--no-progress"]
GENERATE = ["generate", "--model", "fake/echo", "--no-progress"]
CRITIQUE = ["critique", "--constitution", "minimal", "--model", "fake/echo", "--no-progress"]
ANNOTATE = ["annotate", "serve", "--port", "0"]

# (id, command, text the one error line must contain)
CASES: list[tuple[str, list[str], str]] = [
    # 1. an existing --out that is not ours: refused before anything is read or written
    ("generate-out-text-file", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/notes.txt"], "notes.txt exists but is not the output of an earlier run"),
    ("generate-out-pretty-json", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/pretty.json"], "pretty.json exists but is not the output"),
    ("label-out-text-file", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/notes.txt"], "notes.txt exists but is not the output"),
    ("critique-out-text-file", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/notes.txt"], "notes.txt exists but is not the output"),
    ("annotate-out-text-file", [*ANNOTATE, "{w}/pairs.jsonl", "--out", "{w}/notes.txt"], "notes.txt:1"),
    ("annotate-out-pretty-json", [*ANNOTATE, "{w}/pairs.jsonl", "--out", "{w}/pretty.json"], "pretty.json:1"),
    ("annotate-out-someones-jsonl", [*ANNOTATE, "{w}/pairs.jsonl", "--out", "{w}/theirs.jsonl"], "theirs.jsonl:1: not a label"),
    ("generate-dry-run-out-text-file", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/notes.txt", "--dry-run"], "{w}/notes.txt exists"),
    ("label-dry-run-out-someones-jsonl", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/theirs.jsonl", "--dry-run"], "{w}/theirs.jsonl exists"),
    # 3. a file without our manifest is not our output
    ("generate-out-someones-jsonl", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/theirs.jsonl"], "theirs.jsonl exists but is not the output"),
    ("label-out-someones-jsonl", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/theirs.jsonl"], "theirs.manifest.json"),
    ("critique-out-someones-jsonl", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/theirs.jsonl"], "theirs.jsonl exists"),
    ("label-out-someones-parquet", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/table.parquet"], "table.parquet exists"),
    ("critique-parquet-copy-someones", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/table.jsonl", "--format", "parquet"], "table.parquet exists"),
    ("generate-side-file-without-manifest", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/lonely.jsonl"], "lonely.skipped.jsonl exists"),
    ("label-out-other-kind", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/cands.jsonl"], "holds candidates"),
    ("critique-out-other-kind", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/cands.jsonl"], "holds candidates"),
    ("generate-manifest-of-another-file", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/renamed.jsonl"], "original.jsonl"),
    # 2 and 3. the output is the input
    ("label-out-is-pairs", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/pairs.jsonl"], "--pairs"),
    ("label-out-is-pairs-other-spelling", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/sub/../pairs.jsonl"], "--pairs"),
    ("label-out-is-pairs-hard-link", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/pairs-link.jsonl"], "--pairs"),
    ("label-parquet-out-writes-the-pairs", [*LABEL, "--pairs", "{w}/pairs.jsonl", "--out", "{w}/pairs.parquet"], "--pairs"),
    ("label-out-is-candidates", [*LABEL, "--candidates", "{w}/candidates.jsonl", "--out", "{w}/candidates.jsonl"], "--candidates"),
    ("label-out-is-sft", [*LABEL, "--strategy", "revision", "--sft", "{w}/sft.jsonl", "--out", "{w}/sft.jsonl"], "--sft"),
    ("label-out-is-prompts", [*LABEL, "--policy", "fake/echo", "--prompts", "{w}/prompts.jsonl", "--out", "{w}/prompts.jsonl"], "--prompts"),
    ("label-input-is-a-side-file", [*LABEL, "--pairs", "{w}/lonely.skipped.jsonl", "--out", "{w}/lonely.jsonl"], "lonely.skipped.jsonl, written for --out"),
    ("generate-out-is-prompts", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/prompts.jsonl"], "--prompts"),
    ("critique-out-is-prompts", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/prompts.jsonl"], "--prompts"),
    ("critique-out-is-candidates", [*CRITIQUE, "--candidates", "{w}/candidates.jsonl", "--out", "{w}/candidates.jsonl"], "--candidates"),
    ("annotate-out-is-pairs", [*ANNOTATE, "{w}/pairs.jsonl", "--out", "{w}/pairs.jsonl"], "pairs.jsonl:1: not a label"),
    ("export-out-is-source", ["export", "{w}/prefs.jsonl", "--to", "trl", "--out", "{w}/prefs.jsonl"], "the file being exported"),
    ("export-out-is-source-other-spelling", ["export", "{w}/prefs.jsonl", "--to", "openrlhf", "--out", "{w}/sub/../prefs.jsonl"], "the file being exported"),
    ("export-out-is-an-rlaif-dataset", ["export", "{w}/prefs.jsonl", "--to", "trl", "--out", "{w}/dataset.jsonl"], "is an rlaif dataset"),
    # 4. a malformed last line without a newline is an error naming file:line, never dropped
    ("label-pairs-cut-short", [*LABEL, "--pairs", "{w}/torn_pairs.jsonl", "--out", "{w}/new.jsonl"], "torn_pairs.jsonl:2: the last line is cut short"),
    ("generate-prompts-cut-short", [*GENERATE, "--prompts", "{w}/torn_prompts.jsonl", "--out", "{w}/new.jsonl"], "torn_prompts.jsonl:2"),
    ("critique-prompts-cut-short", [*CRITIQUE, "--prompts", "{w}/torn_prompts.jsonl", "--out", "{w}/new.jsonl"], "torn_prompts.jsonl:2"),
    ("export-source-cut-short", ["export", "{w}/torn_prefs.jsonl", "--to", "trl", "--out", "{w}/new.jsonl"], "torn_prefs.jsonl:2"),
    ("annotate-pairs-cut-short", [*ANNOTATE, "{w}/torn_pairs.jsonl", "--out", "{w}/labels.jsonl"], "torn_pairs.jsonl:2"),
]  # fmt: skip


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder of inputs, other people's files and earlier outputs (see :data:`FILES`)."""
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    os.link(tmp_path / "pairs.jsonl", tmp_path / "pairs-link.jsonl")
    return tmp_path


def _hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _invoke(args: list[str]):
    return CliRunner().invoke(app, args)


@pytest.mark.parametrize(("command", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_refused_command_is_one_line_exit_2_and_every_file_is_byte_identical(
    workspace: Path, command: list[str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def accepted(*args: object, **kwargs: object) -> None:  # fail at once rather than serve
        raise AssertionError("the annotation server started: its --out was accepted")

    monkeypatch.setattr(uvicorn.Server, "run", accepted)
    before = _hashes(workspace)
    result = _invoke([part.format(w=workspace) for part in command])
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert expected.format(w=workspace) in lines[0], lines[0]
    assert _hashes(workspace) == before  # byte for byte, and no file added


def test_every_command_that_takes_an_input_and_an_output_has_an_equal_paths_probe() -> None:
    probed = {command[0] for name, command, _ in CASES if "-out-is-" in name}
    assert probed >= {"generate", "critique", "label", "annotate", "export"}


def _lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_our_own_output_cut_short_by_a_kill_is_repaired_with_a_warning_and_resumed(
    tmp_path: Path,
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(_line({"id": "q1", "prompt": "hi"}) + _line({"id": "q2", "prompt": "yo"}))
    reference, out = tmp_path / "reference.jsonl", tmp_path / "out.jsonl"
    assert _invoke([*GENERATE, "--prompts", str(prompts), "--out", str(reference)]).exit_code == 0
    assert _invoke([*GENERATE, "--prompts", str(prompts), "--out", str(out)]).exit_code == 0
    # A killed run: the second record half written, without its newline.
    first, second = out.read_text(encoding="utf-8").splitlines()
    out.write_text(first + "\n" + second[:25], encoding="utf-8")

    result = _invoke([*GENERATE, "--prompts", str(prompts), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"removed a cut-short last line (25 bytes) from {out}" in result.stderr
    assert "resumed: 1 of 2 already done" in result.stdout
    assert out.read_bytes() == reference.read_bytes()

    again = _invoke([*GENERATE, "--prompts", str(prompts), "--out", str(out)])
    assert again.exit_code == 0 and "cut-short" not in again.stderr  # nothing left to repair
    assert "resumed: 2 of 2 already done" in again.stdout


def test_an_empty_existing_out_counts_as_new(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(_line({"id": "q1", "prompt": "hi"}))
    out = tmp_path / "out.jsonl"
    out.touch()
    result = _invoke([*GENERATE, "--prompts", str(prompts), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in _lines(out)] == ["q1"]


def test_a_writer_refuses_a_file_that_is_not_jsonl_and_leaves_it_as_it_was(tmp_path: Path):
    pretty = tmp_path / "pretty.json"
    pretty.write_text('[\n  {"a": 1}\n]')
    with pytest.raises(DataFileError, match=r"pretty\.json:1: not valid JSON"):
        JsonlWriter(pretty)
    assert pretty.read_text() == '[\n  {"a": 1}\n]'


def test_a_last_line_that_is_not_a_record_cut_short_is_never_removed(tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text(_line({"id": "r1"}) + "my precious notes")
    with pytest.raises(DataFileError, match=r"notes\.txt:2: the last line is not valid JSON"):
        repair_tail(notes)
    assert notes.read_text().endswith("my precious notes")
    # A record cut short is removed (and its size returned); a complete one gets its newline.
    notes.write_text(_line({"id": "r1"}) + '{"id": "r')
    assert repair_tail(notes) == len('{"id": "r')
    notes.write_text(_line({"id": "r1"}) + '{"id": "r2"}')
    assert repair_tail(notes) == 0
    assert notes.read_text() == _line({"id": "r1"}) + _line({"id": "r2"})


def test_a_labels_file_cut_short_by_a_killed_server_is_repaired_and_appended_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = [PairRecord.model_validate(PAIR)]
    labels = tmp_path / "labels.jsonl"
    store = LabelStore(pairs, labels)
    store.add(LabelInput(pair_id="p1", annotator="ann", rating=1))
    store.close()
    with labels.open("a", encoding="utf-8") as handle:
        handle.write('{"pair_id": "p1", "annot')  # torn by a kill
    reopened = LabelStore(pairs, labels)
    assert "removed a cut-short last line" in capsys.readouterr().err
    assert set(reopened.labels_of("ann")) == {"p1"}
    reopened.add(LabelInput(pair_id="p1", annotator="ann", rating=4))
    reopened.close()
    assert [row["annotator"] for row in _lines(labels)] == ["ann", "ann"]


def test_an_evaluation_result_file_that_is_not_ours_is_refused_and_ours_is_repaired(
    tmp_path: Path,
) -> None:
    theirs = tmp_path / "theirs.jsonl"
    theirs.write_text(_line({"id": "x1"}) + '{"id": "x2"')
    with pytest.raises(DataFileError, match=r"theirs\.jsonl:1: not a result"):
        ResultStore(theirs)
    assert theirs.read_text() == _line({"id": "x1"}) + '{"id": "x2"'
    ours = tmp_path / "ours.jsonl"
    ours.write_text(_line({"key": "a", "v": 1}) + '{"key": "b", "v')
    assert set(ResultStore(ours).rows) == {"a"}
    assert ours.read_text() == _line({"key": "a", "v": 1})

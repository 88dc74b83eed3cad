# ruff: noqa: E501  (the table keeps one case per line)
"""Every bad input is one line on stderr, exit status 2, no traceback, and nothing written.

Each case runs one command in-process (typer's CliRunner) against a workspace holding valid and
broken inputs and an earlier output file with known content; every file of the workspace must be
byte-identical afterwards (no half-written output, no earlier output lost). Models are ``fake/``
or unreachable, so nothing is loaded and nothing is called.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlaif.cli.app import app

PAIR = {
    "id": "p1",
    "prompt": [{"role": "user", "content": "hi"}],
    "response_1": "hello",
    "response_2": "go away",
}
PIPELINE = """\
name: bad-models
models:
  policy: {{name: fake/policy}}
  critic: {{name: fake/critic}}
  judge: {judge}
"""

FILES: dict[str, str] = {
    "pairs.jsonl": json.dumps(PAIR) + "\n",
    "prompts.jsonl": json.dumps({"id": "q1", "prompt": "hi"}) + "\n",
    "kept.jsonl": '{"kept": "an earlier run\'s output"}\n',
    # an earlier `rlaif label` output: its manifest says so (a file without one is refused)
    "kept.manifest.json": json.dumps(
        {"output": "kept.jsonl", "kind": "preferences", "settings": {}}
    ),
    "broken.jsonl": json.dumps(PAIR) + "\n{not json\n",
    "broken_prompts.jsonl": json.dumps({"id": "q1", "prompt": "hi"}) + "\n{not json\n",
    "wizard.jsonl": json.dumps({**PAIR, "prompt": [{"role": "wizard", "content": "hi"}]}) + "\n",
    "wizard_prompts.jsonl": json.dumps(
        {"id": "q1", "prompt": [{"role": "wizard", "content": "hi"}]}
    )
    + "\n",
    "bad_constitution.yaml": "id: broken\nname: Broken\nprinciples: [harm]\nnot_a_field: 1\n",
    "bad_syntax.yaml": "id: broken\nprinciples: [harm\n",
    "unknown_provider.yaml": PIPELINE.format(judge="{name: nosuch/judge}"),
    "unknown_option.yaml": PIPELINE.format(judge="{name: fake/judge, options: {timeot_s: 3}}"),
    "bad_stage.yaml": PIPELINE.format(judge="fake/judge") + "stages:\n  label: {limit: -5}\n",
    "train_bad.yaml": "model: hf/tiny\ndataset: d.jsonl\noutput_dir: out\nnot_a_setting: 3\n",
    "folder/.keep": "",
    "held.manifest.json/.keep": "",  # the manifest path of --out held.jsonl is a folder
    "notes.txt": "a regular file\n",
}

LABEL = ["label", "--constitution", "cai-harmless", "--judge", "fake/judge", "--no-progress"]
GOOD_LABEL = [*LABEL, "--pairs", "{w}/pairs.jsonl"]
GENERATE = ["generate", "--model", "fake/policy", "--no-progress"]
CRITIQUE = ["critique", "--constitution", "minimal", "--model", "fake/critic", "--no-progress"]
AGREEMENT = ["eval", "agreement", "--judge", "fake/judge", "--out", "{w}/agreement"]
POLICY_EVAL = ["eval", "policy", "--policy", "fake/p", "--judge", "fake/judge"]

# (id, command, text the one error line must contain)
CASES: list[tuple[str, list[str], str]] = [
    # label: input paths
    ("label-pairs-folder", [*LABEL, "--pairs", "{w}/folder", "--out", "{w}/o.jsonl"], "folder"),
    ("label-pairs-missing", [*LABEL, "--pairs", "{w}/nope.jsonl", "--out", "{w}/o.jsonl"], "nope.jsonl"),
    ("label-candidates-folder", [*LABEL, "--candidates", "{w}/folder", "--out", "{w}/o.jsonl"], "folder"),
    ("label-sft-folder", [*LABEL, "--strategy", "revision", "--sft", "{w}/folder", "--out", "{w}/o.jsonl"], "folder"),
    ("label-pairs-broken-json", [*LABEL, "--pairs", "{w}/broken.jsonl", "--out", "{w}/kept.jsonl"], "broken.jsonl:2"),
    ("label-role-wizard", [*LABEL, "--pairs", "{w}/wizard.jsonl", "--out", "{w}/kept.jsonl"], "wizard.jsonl:1"),
    ("label-agreement-folder", [*GOOD_LABEL, "--out", "{w}/o.jsonl", "--agreement", "{w}/folder", "--min-agreement", "0.5"], "folder"),
    # label: output paths
    ("label-out-folder", [*GOOD_LABEL, "--out", "{w}/folder"], "folder"),
    ("label-out-under-file", [*GOOD_LABEL, "--out", "{w}/notes.txt/o.jsonl"], "notes.txt is a file"),
    ("label-out-proc", [*GOOD_LABEL, "--out", "/proc/rlaif-test/o.jsonl"], "cannot be written"),
    ("label-manifest-folder", [*GOOD_LABEL, "--out", "{w}/held.jsonl"], "held.manifest.json: is a folder"),
    ("label-limit-zero", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--limit", "0"], "--limit"),
    # label: values
    ("label-limit-negative", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--limit", "-5"], "--limit"),
    ("label-concurrency-zero", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--concurrency", "0"], "--concurrency"),
    ("label-tie-margin", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--tie-margin", "2"], "--tie-margin"),
    ("label-principles-zero", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--principles-per-pair", "0"], "--principles-per-pair"),
    ("label-rounds-zero", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--rounds", "0"], "--rounds"),
    ("label-cot-band", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--cot-band", "0.9,0.1"], "cot band"),
    ("label-cot-band-text", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--cot-band", "wide"], "--cot-band"),
    ("label-strategy", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--strategy", "vibes"], "--strategy"),
    ("label-mode", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--mode", "guess"], "--mode"),
    ("label-two-inputs", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--candidates", "{w}/pairs.jsonl"], "exactly one input"),
    ("label-unknown-provider", ["label", "--constitution", "cai-harmless", "--judge", "nosuch/j", "--pairs", "{w}/pairs.jsonl", "--out", "{w}/kept.jsonl"], "nosuch"),
    ("label-name-without-provider", ["label", "--constitution", "cai-harmless", "--judge", "judge", "--pairs", "{w}/pairs.jsonl", "--out", "{w}/kept.jsonl"], "provider/model"),
    ("label-judge-option-unknown", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--judge-option", "timeot_s=3"], "timeot_s"),
    ("label-judge-option-malformed", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--judge-option", "timeout"], "KEY=VALUE"),
    ("label-judge-option-value", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--judge-option", "max_concurrency=0"], "max_concurrency"),
    ("label-policy-option-alone", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--policy-option", "timeout_s=3"], "--policy"),
    ("label-constitution-folder", ["label", "--constitution", "{w}/folder", "--judge", "fake/j", "--pairs", "{w}/pairs.jsonl", "--out", "{w}/kept.jsonl"], "folder"),
    ("label-constitution-invalid", ["label", "--constitution", "{w}/bad_constitution.yaml", "--judge", "fake/j", "--pairs", "{w}/pairs.jsonl", "--out", "{w}/kept.jsonl"], "bad_constitution.yaml:"),
    # generate
    ("generate-n-negative", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/kept.jsonl", "-n", "-1"], "'-n'"),
    ("generate-temperature", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/kept.jsonl", "--temperature", "99"], "temperature"),
    ("generate-max-tokens", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/kept.jsonl", "--max-tokens", "0"], "'--max-tokens'"),
    ("generate-prompts-folder", [*GENERATE, "--prompts", "{w}/folder", "--out", "{w}/o.jsonl"], "folder"),
    ("generate-prompts-wizard", [*GENERATE, "--prompts", "{w}/wizard_prompts.jsonl", "--out", "{w}/o.jsonl"], "wizard_prompts.jsonl:1"),
    ("generate-out-folder", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/folder"], "folder"),
    ("generate-model-option", [*GENERATE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/o.jsonl", "--model-option", "bogus=1"], "bogus"),
    # critique
    ("critique-candidates-folder", [*CRITIQUE, "--candidates", "{w}/folder", "--out", "{w}/o.jsonl"], "folder"),
    ("critique-out-under-file", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/notes.txt/sft.jsonl"], "notes.txt is a file"),
    ("critique-rounds-zero", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/kept.jsonl", "--rounds", "0"], "--rounds"),
    ("critique-format", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/kept.jsonl", "--format", "xml"], "--format"),
    ("critique-policy-option", [*CRITIQUE, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/kept.jsonl", "--policy", "fake/p", "--policy-option", "nope=1"], "nope"),
    # principles and constitution
    ("principles-new-bad-id", ["principles", "new", "Bad Id!", "--out", "{w}/new.yaml"], "not a valid id"),
    ("principles-new-exists", ["principles", "new", "fresh", "--out", "{w}/kept.jsonl"], "--force"),
    ("principles-new-under-file", ["principles", "new", "fresh", "--out", "{w}/notes.txt/p.yaml"], "notes.txt"),
    ("principles-show-unknown", ["principles", "show", "no-such-principle"], "no-such-principle"),
    ("constitution-render-folder", ["constitution", "render", "{w}/folder"], "folder"),
    ("constitution-render-invalid", ["constitution", "render", "{w}/bad_constitution.yaml"], "bad_constitution.yaml:"),
    ("constitution-render-syntax", ["constitution", "render", "{w}/bad_syntax.yaml"], "bad_syntax.yaml:"),
    ("constitution-render-stage", ["constitution", "render", "cai-harmless", "--stage", "nope"], "nope"),
    ("constitution-show-missing", ["constitution", "show", "{w}/missing.yaml"], "missing.yaml"),
    # run
    ("run-config-folder", ["run", "{w}/folder", "--dry-run"], "folder"),
    ("run-config-missing", ["run", "{w}/missing.yaml", "--dry-run"], "missing.yaml"),
    ("run-unknown-provider", ["run", "{w}/unknown_provider.yaml", "--dry-run"], "unknown_provider.yaml:5"),
    ("run-unknown-provider-no-dry-run", ["run", "{w}/unknown_provider.yaml"], "unknown_provider.yaml:5"),
    ("run-unknown-backend-option", ["run", "{w}/unknown_option.yaml", "--dry-run"], "unknown_option.yaml:5"),
    ("run-bad-stage-value", ["run", "{w}/bad_stage.yaml", "--dry-run"], "bad_stage.yaml:7"),
    # train
    ("train-config-folder", ["train", "sft", "--config", "{w}/folder"], "folder"),
    ("train-config-missing", ["train", "sft", "--config", "{w}/missing.yaml"], "missing.yaml"),
    ("train-config-unknown-key", ["train", "sft", "--config", "{w}/train_bad.yaml"], "train_bad.yaml:4"),
    ("train-override-malformed", ["train", "sft", "--config", "{w}/train_bad.yaml", "no_equals_sign"], "no_equals_sign"),
    # eval
    ("eval-agreement-data-folder", [*AGREEMENT, "--data", "{w}/folder"], "folder"),
    ("eval-agreement-data-broken", [*AGREEMENT, "--data", "{w}/broken.jsonl"], "broken.jsonl:2"),
    ("eval-agreement-mode", [*AGREEMENT, "--data", "{w}/pairs.jsonl", "--mode", "guess"], "--mode"),
    ("eval-agreement-judge-option", [*AGREEMENT, "--data", "{w}/pairs.jsonl", "--judge-option", "timeot_s=1"], "timeot_s"),
    ("eval-agreement-provider", ["eval", "agreement", "--judge", "nosuch/j", "--data", "{w}/pairs.jsonl", "--out", "{w}/agreement"], "nosuch"),
    ("eval-policy-prompts-folder", [*POLICY_EVAL, "--prompts", "{w}/folder", "--out", "{w}/pe"], "folder"),
    ("eval-policy-policy-option", [*POLICY_EVAL, "--prompts", "{w}/prompts.jsonl", "--out", "{w}/pe", "--policy-option", "nope=1"], "nope"),
    ("report-not-a-folder", ["report", "{w}/notes.txt"], "not a folder"),
    # export
    ("export-source-folder", ["export", "{w}/folder", "--to", "trl", "--out", "{w}/e.jsonl"], "folder"),
    ("export-source-missing", ["export", "{w}/nope.jsonl", "--to", "trl", "--out", "{w}/e.jsonl"], "nope.jsonl"),
    ("export-source-broken", ["export", "{w}/broken_prompts.jsonl", "--to", "trl", "--out", "{w}/e.jsonl"], "broken_prompts.jsonl:2"),
    ("export-target", ["export", "{w}/pairs.jsonl", "--to", "bogus", "--out", "{w}/e.jsonl"], "--to"),
    ("export-kind", ["export", "{w}/pairs.jsonl", "--to", "trl", "--kind", "bogus", "--out", "{w}/e.jsonl"], "--kind"),
    ("export-out-folder", ["export", "{w}/prompts.jsonl", "--to", "trl", "--out", "{w}/folder"], "folder"),
    ("export-out-under-file", ["export", "{w}/prompts.jsonl", "--to", "trl", "--out", "{w}/notes.txt/e.jsonl"], "notes.txt"),
    # the command line itself (click's parse errors): one line naming the command's help
    ("parse-limit-not-a-number", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--limit", "abc"], "'--limit'"),
    ("parse-unknown-option", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--bogus"], "rlaif label --help"),
    ("parse-missing-option", ["label", "--judge", "fake/judge"], "Missing option"),
    ("parse-unknown-command", ["labell"], "No such command"),
    ("parse-bad-choice", [*GOOD_LABEL, "--out", "{w}/kept.jsonl", "--strategy", "psychic"], "--strategy must be one of"),
    ("parse-concurrency-not-a-number", ["generate", "--model", "fake/p", "--prompts", "{w}/prompts.jsonl", "--out", "{w}/g.jsonl", "--concurrency", "x"], "rlaif generate --help"),
]  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of valid and broken inputs and an earlier output (``kept.jsonl``)."""
    folder = tmp_path_factory.mktemp("bad-inputs")
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_there_are_at_least_forty_cases_across_every_command() -> None:
    assert len(CASES) >= 40
    commands = {command[0] for _, command, _ in CASES}
    assert {"principles", "constitution", "generate", "critique", "label", "run", "train"} <= (
        commands
    )
    assert {"eval", "export"} <= commands


@pytest.mark.parametrize(("command", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    workspace: Path, command: list[str], expected: str
) -> None:
    before = _snapshot(workspace)
    args = [part.format(w=workspace) for part in command]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    # One line; a config file with several problems gets one file:line line per problem.
    assert len(lines) == 1 or all(expected in line for line in lines), result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert expected in lines[0], lines[0]
    assert _snapshot(workspace) == before  # nothing half-written, no earlier output lost

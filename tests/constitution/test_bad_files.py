"""A corpus of broken principle and constitution files: each gives the expected message at the
right line, nothing in them is executed, and nothing is written."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rlaif.constitution import ConstitutionError, load_constitution, validate_paths
from rlaif.constitution.loader import template_value_kind

GOOD_PRINCIPLE = """\
  - id: {id}
    title: A title
    description: What it protects.
    critique: What to look for.
    revision: How to fix it.
    compare: Which response is better?
"""


def principles(*ids: str) -> str:
    return "principles:\n" + "".join(GOOD_PRINCIPLE.format(id=i) for i in ids)


def constitution(include: str = "../principles/p.yaml", critique: str = "critique.j2") -> str:
    return f"""\
name: test
principles:
  include: [{include}]
templates:
  critique: {critique}
  revision: "Revise: {{{{ response }}}} {{{{ critique }}}} {{{{ request }}}}"
  compare: "{{{{ response_a }}}} {{{{ response_b }}}} {{{{ question }}}}"
  compare_cot: "{{{{ response_a }}}} {{{{ response_b }}}} {{{{ question }}}} Verdict"
"""


@dataclass
class Case:
    name: str
    target: str
    files: dict[str, str | bytes]
    message: str
    line: int
    extra: dict[str, str] = field(default_factory=dict)


CRITIQUE_TEMPLATE = {"constitution/critique.j2": "{{ conversation }} {{ response }} {{ request }}"}

CASES = [
    Case(
        "malformed-yaml",
        "principles/p.yaml",
        {"principles/p.yaml": "principles:\n  - id: a\n    title: [unclosed\n    tags: x\n"},
        "invalid YAML",
        4,
    ),
    Case(
        "tab-indentation",
        "principles/p.yaml",
        {"principles/p.yaml": "principles:\n  - id: a\n\ttitle: tabbed\n"},
        "tab character used for indentation",
        3,
    ),
    Case(
        "unknown-key",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a").replace("    compare:", "    comapre:")},
        "principles[0].comapre: unknown key 'comapre' (did you mean 'compare'?)",
        7,
    ),
    Case(
        "wrong-type",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a") + "    weight: heavy\n"},
        "principles[0].weight: input should be a valid number",
        8,
    ),
    Case(
        "non-positive-weight",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a") + "    weight: 0\n"},
        "principles[0].weight: input should be greater than 0",
        8,
    ),
    Case(
        "duplicate-id",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a", "b", "a")},
        "principles[2].id: duplicate principle id 'a' (also defined at",
        14,
    ),
    Case(
        "missing-compare",
        "principles/p.yaml",
        {
            "principles/p.yaml": principles("a", "b").replace(
                "    compare: Which response is better?\n", "", 2
            )[:None]
        },
        "principles[0].compare: field required",
        2,
    ),
    Case(
        "missing-title",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a", "b").replace("    title: A title\n", "", 2)},
        "principles[1].title: field required",
        7,
    ),
    Case(
        "bad-slug",
        "principles/p.yaml",
        {"principles/p.yaml": principles("Bad Id")},
        "principles[0].id: string should match pattern",
        2,
    ),
    Case(
        "duplicate-key",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a") + "    title: again\n"},
        "duplicate key 'title' (first defined on line 3)",
        8,
    ),
    Case(
        "python-tag",
        "principles/p.yaml",
        {"principles/p.yaml": "principles: !!python/object/apply:os.system ['touch PWNED']\n"},
        "YAML tag '!!python/object/apply:os.system' is not allowed",
        1,
    ),
    Case(
        "alias-bomb",
        "principles/p.yaml",
        {
            "principles/p.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
                for i in range(7)
            )
        },
        "alias bomb",
        1,
    ),
    Case("empty-file", "principles/p.yaml", {"principles/p.yaml": "\n  \n"}, "file is empty", 1),
    Case(
        "huge-file",
        "principles/p.yaml",
        {"principles/p.yaml": "# " + "x" * (2 * 1024 * 1024) + "\n"},
        "file is 2.0 MiB; the limit is 1 MiB per file",
        1,
    ),
    Case(
        "template-undefined-variable",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(),
            "constitution/critique.j2": "{{ conversation }} {{ respnse }}",
        },
        "templates.critique: template 'constitution/critique.j2' uses undefined variable 'respnse'",
        5,
    ),
    Case(
        "template-undefined-attribute",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(),
            "constitution/critique.j2": "{{ principle.critqiue }}",
        },
        "uses undefined variable 'critqiue'",
        5,
    ),
    Case(
        "template-syntax-error",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(),
            "constitution/critique.j2": "line one\n{% if %}\n",
        },
        "constitution/critique.j2:2:1: template syntax error",
        2,
    ),
    Case(
        "include-escaping-root",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "outside.yaml": principles("b"),
            "constitution/c.yaml": constitution(include="../../outside.yaml"),
            **CRITIQUE_TEMPLATE,
        },
        "principles.include[0]: '../../outside.yaml' leaves the allowed folders",
        3,
    ),
    Case(
        "include-absolute",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(include="/etc/passwd.yaml"),
            **CRITIQUE_TEMPLATE,
        },
        "absolute path '/etc/passwd.yaml' is not allowed",
        3,
    ),
    Case(
        "unknown-selected-id",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("privacy"),
            "constitution/c.yaml": constitution().replace(
                "  include:", "  ids: [privacyy]\n  include:"
            ),
            **CRITIQUE_TEMPLATE,
        },
        "principles.ids[0]: unknown principle id 'privacyy' (did you mean 'privacy'?)",
        3,
    ),
    Case(
        "constitution-unknown-key",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution() + "round: 2\n",
            **CRITIQUE_TEMPLATE,
        },
        "round: unknown key 'round' (did you mean 'rounds'?)",
        9,
    ),
    Case(
        "applies-to-misspelt",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a") + "    applies_too:\n      keywords: [x]\n"},
        "principles[0].applies_too: unknown key 'applies_too' (did you mean 'applies_to'?)",
        8,
    ),
    Case(
        "applies-to-unknown-key",
        "principles/p.yaml",
        {"principles/p.yaml": principles("a") + "    applies_to:\n      keywrods: [x]\n"},
        "principles[0].applies_to.keywrods: unknown key 'keywrods' (did you mean 'keywords'?)",
        9,
    ),
    Case(
        "applies-to-bad-pattern",
        "principles/p.yaml",
        {
            "principles/p.yaml": principles("a")
            + "    applies_to:\n      keywords:\n        - ok\n        - '(unclosed'\n"
        },
        "principles[0].applies_to.keywords: invalid pattern '(unclosed'",
        10,
    ),
    Case(
        "general-with-applies-to",
        "principles/p.yaml",
        {
            "principles/p.yaml": principles("a")
            + "    tags: [general]\n    applies_to:\n      keywords: [x]\n"
        },
        "principles[0].applies_to: a principle tagged 'general' fits every prompt",
        9,
    ),
    Case(
        "template-path-without-suffix",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(critique="../../../../etc/passwd"),
        },
        "templates.critique: '../../../../etc/passwd' looks like a file path but has no "
        "template suffix",
        5,
    ),
    Case(
        "template-file-missing",
        "constitution/c.yaml",
        {"principles/p.yaml": principles("a"), "constitution/c.yaml": constitution()},
        "templates.critique: file not found: 'critique.j2'",
        5,
    ),
    Case(
        "template-absolute-path",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(critique="/etc/passwd.j2"),
        },
        "templates.critique: absolute path '/etc/passwd.j2' is not allowed",
        5,
    ),
    Case(
        "template-escaping-root",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(critique="../../outside.j2"),
            "../outside.j2": "{{ response }}",
        },
        "templates.critique: '../../outside.j2' leaves the allowed folders",
        5,
    ),
    Case(
        "compare-template-without-responses",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution().replace(
                '"{{ response_a }} {{ response_b }} {{ question }}"', '"{{ question }} A or B?"'
            ),
            **CRITIQUE_TEMPLATE,
        },
        "templates.compare: template 'constitution/c.yaml#templates.compare' (compare) never "
        "uses 'response_a' and 'response_b'",
        7,
    ),
    Case(
        "compare-template-with-one-response",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution().replace(
                '"{{ response_a }} {{ response_b }} {{ question }} Verdict"',
                '"{{ response_a }} {# {{ response_b }} #} {{ question }}"',
            ),
            **CRITIQUE_TEMPLATE,
        },
        "templates.compare_cot: template 'constitution/c.yaml#templates.compare_cot' "
        "(compare_cot) never uses 'response_b'",
        8,
    ),
    Case(
        "critique-template-without-response",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(),
            "constitution/critique.j2": "{{ conversation }} {{ request }} response",
        },
        "templates.critique: template 'constitution/critique.j2' (critique) never uses 'response'",
        5,
    ),
    Case(
        "score-template-without-response",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution() + '  score: "{{ conversation }} Harmful?"\n',
            **CRITIQUE_TEMPLATE,
        },
        "templates.score: template 'constitution/c.yaml#templates.score' (score) never uses "
        "'response'",
        9,
    ),
    Case(
        "score-question-missing",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a", "b").replace(
                "    compare: Which response is better?\n",
                "    compare: Which response is better?\n    score: Is the reply good?\n",
                1,
            ),
            "constitution/c.yaml": constitution()
            + '  score: "{{ conversation }} {{ response }} {{ question }}"\n',
            **CRITIQUE_TEMPLATE,
        },
        "templates.score: the score template constitution/c.yaml#templates.score asks each "
        "principle's pointwise question, but b give(s) none",
        9,
    ),
    Case(
        "unknown-sampling-strategy",
        "constitution/c.yaml",
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution() + "sampling:\n  strategy: by-topic\n",
            **CRITIQUE_TEMPLATE,
        },
        "sampling.strategy: input should be 'matched' or 'uniform'",
        10,
    ),
]


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_file_reports_message_and_line(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    _write(project, case.files)
    monkeypatch.chdir(project)
    before = _snapshot(tmp_path)
    issues = validate_paths([case.target])
    rendered = [str(issue) for issue in issues]
    matching = [i for i in issues if case.message in str(i)]
    assert matching, f"expected {case.message!r} in {rendered}"
    assert matching[0].line == case.line, rendered
    assert _snapshot(tmp_path) == before, "validation wrote or changed files"
    assert not (project / "PWNED").exists()


def test_corpus_has_at_least_twelve_cases() -> None:
    assert len(CASES) >= 12


def test_symlink_escaping_the_root_is_refused(tmp_path: Path, monkeypatch) -> None:
    project = tmp_path / "project"
    _write(
        project, {"constitution/c.yaml": constitution(include="linked.yaml"), **CRITIQUE_TEMPLATE}
    )
    _write(tmp_path, {"secret/outside.yaml": principles("a")})
    os.symlink(tmp_path / "secret" / "outside.yaml", project / "constitution" / "linked.yaml")
    monkeypatch.chdir(project)
    with pytest.raises(ConstitutionError, match="'linked.yaml' leaves the allowed folders"):
        load_constitution("constitution/c.yaml")


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, {"one.yaml": principles("same"), "two.yaml": principles("same")})
    monkeypatch.chdir(tmp_path)
    issues = validate_paths(["one.yaml", "two.yaml"])
    assert [str(i) for i in issues] == [
        "two.yaml:2:9: principles[0].id: duplicate principle id 'same' "
        "(also defined at one.yaml:2:9)"
    ]


def test_all_errors_in_all_files_are_reported(tmp_path: Path, monkeypatch) -> None:
    _write(
        tmp_path,
        {
            "one.yaml": principles("a", "b").replace("    title: A title\n", ""),
            "two.yaml": "principles:\n\t- id: x\n",
            "three.yaml": principles("c").replace("weight", "x") + "    wieght: 2\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    issues = [str(i) for i in validate_paths(["one.yaml", "two.yaml", "three.yaml"])]
    assert any(i.startswith("one.yaml:2:5: principles[0].title") for i in issues)
    assert any(i.startswith("one.yaml:7:5: principles[1].title") for i in issues)
    assert any(i.startswith("two.yaml:2:1") and "tab" in i for i in issues)
    assert any(i.startswith("three.yaml:8:5") and "did you mean 'weight'" in i for i in issues)


def test_inline_template_missing_variable_is_reported_at_load(tmp_path: Path, monkeypatch) -> None:
    _write(
        tmp_path,
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(critique='"{{ responze }}"'),
        },
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConstitutionError) as error:
        load_constitution("constitution/c.yaml")
    assert "constitution/c.yaml:5:13: templates.critique" in str(error.value)
    assert "undefined variable 'responze'" in str(error.value)


def test_sandbox_blocks_python_internals(tmp_path: Path, monkeypatch) -> None:
    _write(
        tmp_path,
        {
            "principles/p.yaml": principles("a"),
            "constitution/c.yaml": constitution(),
            "constitution/critique.j2": "{{ response.__class__.__mro__[1].__subclasses__() }}",
        },
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConstitutionError, match="templates.critique"):
        load_constitution("constitution/c.yaml")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("templates/compare.j2", "file"),
        ("Compare.JINJA", "file"),
        ("../../../../etc/passwd", "unknown path"),
        ("/etc/passwd", "unknown path"),
        ("templates\\compare", "unknown path"),
        ("compare.html", "unknown path"),
        ("Which is better, A/B? {{ response_a }} {{ response_b }}", "inline"),
        ("Pick one of A/B", "inline"),
        ("line one\nsee templates/compare.j2", "inline"),
    ],
)
def test_template_values_are_files_only_with_a_known_suffix(value: str, kind: str) -> None:
    assert template_value_kind(value) == kind


def test_inline_templates_that_use_their_responses_still_load(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, {"principles/p.yaml": principles("a"), **CRITIQUE_TEMPLATE})
    _write(tmp_path, {"constitution/c.yaml": constitution()})
    monkeypatch.chdir(tmp_path)
    loaded = load_constitution("constitution/c.yaml")
    assert "{{ response_b }}" in loaded.template_source("compare")

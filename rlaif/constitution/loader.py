"""Load principle and constitution files, collecting every problem with its file and line."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from pydantic import ValidationError

from rlaif.config import (
    ConfigFileError,
    FieldPath,
    ValidationIssue,
    YamlDocument,
    closest,
    issues_from_validation_error,
    load_yaml_document,
    read_limited_text,
)
from rlaif.constitution import library
from rlaif.constitution.constitution import Constitution
from rlaif.constitution.errors import ConstitutionError
from rlaif.constitution.schema import BUILTIN_TEMPLATES, STAGES, Principle, PrincipleFile
from rlaif.constitution.selection import (
    OwnPrinciple,
    UnselectedPrincipleWarning,
    select_principles,
    unselected_own_principles,
)
from rlaif.constitution.templates import (
    compile_template,
    render_template,
    sample_variables,
    template_variables,
    undefined_name,
    unused_required_variables,
)

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".txt")
"""Suffixes that make a ``templates:`` value a file reference rather than inline template text."""
_TEMPLATE_SYNTAX = ("{{", "{%", "{#")
_NOT_FOUND = "file not found"
# One word that reads like a file name: "etc/passwd", "..\\x", "compare.html".
_PATH_LIKE = re.compile(r"^(?:\S*[/\\]\S*|[\w.-]+\.[A-Za-z0-9]{1,8})$")


@dataclass
class _Collector:
    """Gathers issues across files so that validation reports everything at once."""

    issues: list[ValidationIssue] = field(default_factory=list)
    seen_ids: dict[str, str] = field(default_factory=dict)
    positions: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """Where each kept principle's id is written: file as shown, line, column."""
    included: set[Path] = field(default_factory=set)
    """Principle files that constitutions loaded through this collector include (resolved)."""

    def add_principles(self, document: YamlDocument, parsed: PrincipleFile) -> list[Principle]:
        kept = []
        for index, principle in enumerate(parsed.principles):
            line, column = document.position(("principles", index, "id"))
            where = f"{document.file}:{line}:{column}"
            earlier = self.seen_ids.get(principle.id)
            if earlier is not None and earlier != where:
                self.issues.append(
                    document.issue(
                        ("principles", index, "id"),
                        f"duplicate principle id '{principle.id}' (also defined at {earlier})",
                    )
                )
                continue
            self.seen_ids[principle.id] = where
            self.positions[principle.id] = (document.file, line, column)
            if principle.score is None and parsed.score is not None:
                principle = principle.model_copy(update={"score": parsed.score})
            if principle.when is None and parsed.when is not None:
                principle = principle.model_copy(update={"when": parsed.when})
            kept.append(principle)
        return kept


def _load_document(path: Path, collector: _Collector) -> YamlDocument | None:
    try:
        return load_yaml_document(path, library.display_path(path))
    except ConfigFileError as error:
        collector.issues.extend(error.issues)
        return None


def _read_principle_file(path: Path, collector: _Collector) -> list[Principle]:
    document = _load_document(path, collector)
    if document is None:
        return []
    if not isinstance(document.data, dict):
        collector.issues.append(
            document.issue((), "a principle file must be a mapping with a 'principles' list")
        )
        return []
    try:
        parsed = PrincipleFile.model_validate(document.data)
    except ValidationError as error:
        collector.issues.extend(issues_from_validation_error(document, error, PrincipleFile))
        return []
    return collector.add_principles(document, parsed)


def load_principles(paths: Sequence[str | Path] | None = None) -> list[Principle]:
    """Load principle files (default: every built-in one); raises :class:`ConstitutionError`
    listing every problem, duplicate ids across files included."""
    collector = _Collector()
    files = [Path(p) for p in paths] if paths else library.builtin_principle_files()
    principles: list[Principle] = []
    for path in files:
        principles.extend(_read_principle_file(path, collector))
    if collector.issues:
        raise ConstitutionError(collector.issues)
    return principles


def allowed_roots(constitution_path: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """Folders that includes and template paths of a constitution may point into."""
    here = constitution_path.resolve().parent
    roots = [here, library.principles_dir().resolve(), library.constitutions_dir().resolve()]
    sibling = here.parent / "principles"
    if sibling.is_dir():
        roots.append(sibling.resolve())
    roots.extend(Path(p).resolve() for p in extra)
    return roots


def _confined(entry: str, base: Path, roots: Sequence[Path]) -> tuple[Path | None, str]:
    """Resolve ``entry`` relative to ``base``; refuse absolute paths and escapes from ``roots``
    (``..`` or symbolic links leading outside)."""
    candidate = Path(entry)
    if candidate.is_absolute():
        return None, f"absolute path '{entry}' is not allowed; use a path relative to this file"
    resolved = (base / candidate).resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        shown = ", ".join(library.display_path(r) for r in roots)
        return None, f"'{entry}' leaves the allowed folders ({shown}); it is refused"
    if not resolved.is_file():
        return None, f"{_NOT_FOUND}: '{entry}'"
    return resolved, ""


def _resolve_include(entry: str, base: Path, roots: Sequence[Path]) -> tuple[Path | None, str]:
    if "/" not in entry and not entry.endswith((".yaml", ".yml")):
        builtin = library.principles_dir() / f"{entry}.yaml"
        if builtin.is_file():
            return builtin, ""
        names = [p.stem for p in library.builtin_principle_files()]
        hint = closest(entry, names)
        suffix = f" (did you mean '{hint}'?)" if hint else f"; built-in: {', '.join(names)}"
        return None, f"no built-in principle file named '{entry}'{suffix}"
    return _confined(entry, base, roots)


def _compile_templates(
    document: YamlDocument,
    spec: Constitution,
    base: Path,
    roots: Sequence[Path],
    principles: list[Principle],
) -> tuple[dict[str, jinja2.Template], dict[str, str], dict[str, str], list[ValidationIssue]]:
    compiled: dict[str, jinja2.Template] = {}
    sources: dict[str, str] = {}
    names: dict[str, str] = {}
    issues: list[ValidationIssue] = []
    values = _template_values(document, spec, principles)
    for stage in STAGES:
        value, builtin_only = values[stage]
        if value is None:  # an optional stage this constitution does not define
            continue
        field_path: FieldPath = ("templates", stage)
        kind = template_value_kind(value)
        if kind == "unknown path":
            issues.append(
                document.issue(
                    field_path,
                    f"'{value.strip()}' looks like a file path but has no template suffix "
                    f"({', '.join(TEMPLATE_SUFFIXES)}); name a template file with one of them, "
                    "or write the template text inline (it must use a {{ variable }})",
                )
            )
            continue
        if kind == "file":
            path, problem = _template_file(value.strip(), base, roots, builtin_only)
            if path is None:
                issues.append(document.issue(field_path, problem))
                continue
            try:
                source = read_limited_text(path, library.display_path(path))
            except ConfigFileError as error:
                issues.extend(error.issues)
                continue
            name = library.display_path(path)
        else:
            source, name = value, f"{document.file}#templates.{stage}"
        try:
            template = compile_template(source)
        except jinja2.TemplateSyntaxError as error:
            line = error.lineno or 1
            issues.append(
                ValidationIssue(name, line, 1, "", f"template syntax error: {error.message}")
            )
            continue
        sample = _sample_principle(stage, principles)
        if sample is not None:
            try:
                render_template(template, stage, name, sample_variables(stage, sample))
            except jinja2.UndefinedError as error:  # attribute of a documented variable
                issues.append(_undefined_issue(document, field_path, name, undefined_name(error)))
                continue
            except Exception as error:  # TemplateVariableError or a sandbox refusal
                missing = re.search(r"needs variable '([^']+)'", str(error))
                shown = missing.group(1) if missing else str(error)
                issues.append(_undefined_issue(document, field_path, name, shown))
                continue
        unused = unused_required_variables(stage, source)
        if unused:
            issues.append(_unused_issue(document, field_path, name, stage, unused))
            continue
        if stage == "score" and "question" in template_variables(source):
            unasked = [p.id for p in principles if p.compare is not None and p.score is None]
            if unasked:
                issues.append(
                    document.issue(
                        field_path,
                        f"the score template {name} asks each principle's pointwise question, "
                        f"but {', '.join(unasked)} give(s) none: add `score:` to each (or one "
                        "`score:` to its principle file, for all of its principles)",
                    )
                )
                continue
        compiled[stage], sources[stage], names[stage] = template, source, name
    return compiled, sources, names, issues


def _template_values(
    document: YamlDocument, spec: Constitution, principles: list[Principle]
) -> dict[str, tuple[str | None, bool]]:
    """Each stage's template value, and whether it is a built-in default (resolved among the
    built-in templates only, never beside the constitution). Without a ``templates:`` key the
    pointwise ``score`` stage gets the built-in question template when every principle that
    compares asks a ``score`` question; a ``templates:`` mapping without ``score`` has none, as
    before templates could be left out."""
    given = spec.templates.model_fields_set
    values: dict[str, tuple[str | None, bool]] = {}
    for stage in STAGES:
        value: str | None = getattr(spec.templates, stage)
        values[stage] = (value, stage not in given and value is not None)
    comparing = [p for p in principles if p.compare is not None]
    omitted = isinstance(document.data, dict) and "templates" not in document.data
    if omitted and comparing and all(p.score is not None for p in comparing):
        values["score"] = (BUILTIN_TEMPLATES["score"], True)
    return values


def _template_file(
    value: str, base: Path, roots: Sequence[Path], builtin_only: bool
) -> tuple[Path | None, str]:
    """A template file beside the constitution (inside ``roots``), else the built-in template of
    that name (``templates/critique.j2``), so that a copied built-in constitution still loads."""
    problem = ""
    if not builtin_only:
        path, problem = _confined(value, base, [base.resolve(), *roots])
        if path is not None or not problem.startswith(_NOT_FOUND):
            return path, problem
    builtin_dir = library.constitutions_dir()
    path, builtin_problem = _confined(value, builtin_dir, [builtin_dir.resolve()])
    if path is not None:
        return path, ""
    if builtin_only:
        return None, builtin_problem
    shown = library.display_path(builtin_dir / "templates")
    return None, f"{problem} (not beside this constitution, nor a built-in template in {shown}/)"


def _contrast_issues(
    document: YamlDocument, spec: Constitution, principles: list[Principle]
) -> list[ValidationIssue]:
    """Each ``contrast`` text must compile and render with a principle (its only variable)."""
    issues: list[ValidationIssue] = []
    sample = principles[0] if principles else None
    for name in ("positive_system", "negative_system", "positive_prefill", "negative_prefill"):
        try:
            template = compile_template(getattr(spec.contrast, name))
            if sample is not None:
                template.render(principle=sample)
        except Exception as error:  # syntax error, undefined variable or a sandbox refusal
            issues.append(document.issue(("contrast", name), f"template error: {error}"))
    return issues


def template_value_kind(value: str) -> str:
    """What a ``templates:`` value is: ``file`` (one line ending in a template suffix),
    ``unknown path`` (one word that reads like a path, such as ``../../etc/passwd``, but has no
    template suffix: an error, never template text) or ``inline`` (template text)."""
    text = value.strip()
    if "\n" in text or any(mark in text for mark in _TEMPLATE_SYNTAX):
        return "inline"
    if text.lower().endswith(TEMPLATE_SUFFIXES):
        return "file"
    return "unknown path" if _PATH_LIKE.match(text) else "inline"


def _unused_issue(
    document: YamlDocument, field_path: FieldPath, name: str, stage: str, unused: list[str]
) -> ValidationIssue:
    shown = " and ".join(f"'{variable}'" for variable in unused)
    reader = "judge" if stage in ("compare", "compare_cot", "score") else "critic"
    return document.issue(
        field_path,
        f"template '{name}' ({stage}) never uses {shown}, so the {reader} would not see "
        "what it is asked about",
    )


def _undefined_issue(
    document: YamlDocument, field_path: FieldPath, name: str, variable: str
) -> ValidationIssue:
    return document.issue(
        field_path,
        f"template '{name}' uses undefined variable '{variable}' "
        "(see `rlaif constitution show` for the documented variables)",
    )


def _sample_principle(stage: str, principles: list[Principle]) -> Principle | None:
    for principle in principles:
        if stage in ("critique", "revision") or principle.compare is not None:
            return principle
    return None


def _resolve_constitution_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    builtins = library.builtin_constitution_files()
    if str(name_or_path) in builtins:
        return builtins[str(name_or_path)]
    hint = closest(str(name_or_path), builtins)
    raise ConstitutionError(
        [
            ValidationIssue(
                str(name_or_path),
                1,
                1,
                "",
                "no such file or built-in constitution"
                + (f" (did you mean '{hint}'?)" if hint else f"; built-in: {', '.join(builtins)}"),
            )
        ]
    )


def load_constitution(
    name_or_path: str | Path, *, extra_roots: Iterable[Path] = ()
) -> Constitution:
    """Load a built-in constitution by name (``cai-harmless``) or a YAML file by path.

    Raises :class:`ConstitutionError` listing every problem found, each with file, line, column
    and field path.
    """
    constitution, issues = _load_constitution(_resolve_constitution_path(name_or_path), extra_roots)
    if issues or constitution is None:
        raise ConstitutionError(issues)
    for warning in constitution.warnings:
        warnings.warn(str(warning), UnselectedPrincipleWarning, stacklevel=2)
    return constitution


def _load_constitution(
    path: Path, extra_roots: Iterable[Path] = (), collector: _Collector | None = None
) -> tuple[Constitution | None, list[ValidationIssue]]:
    collector = collector or _Collector()
    start = len(collector.issues)
    document = _load_document(path, collector)
    if document is None:
        return None, collector.issues[start:]
    if not isinstance(document.data, dict):
        return None, [document.issue((), "a constitution file must be a YAML mapping")]
    try:
        spec = Constitution.model_validate(document.data)
    except ValidationError as error:
        return None, issues_from_validation_error(document, error, Constitution)
    base = path.resolve().parent
    roots = allowed_roots(path, extra_roots)
    available: list[Principle] = []
    own: list[OwnPrinciple] = []
    builtin_principles = library.principles_dir().resolve()
    for index, entry in enumerate(spec.principles.include):
        include, problem = _resolve_include(entry, base, roots)
        if include is None:
            collector.issues.append(document.issue(("principles", "include", index), problem))
            continue
        collector.included.add(include.resolve())
        read = _read_principle_file(include, collector)
        available.extend(read)
        if not include.resolve().is_relative_to(builtin_principles):
            own.extend(OwnPrinciple(p, *collector.positions[p.id]) for p in read)
    issues = collector.issues[start:]
    chosen, selection_issues = select_principles(document, spec, available)
    issues.extend(selection_issues)
    if "preference" in spec.stages and chosen and not any(p.compare for p in chosen):
        issues.append(
            document.issue(
                ("principles",),
                "this constitution has a preference stage but no selected principle has a "
                "'compare' question",
            )
        )
    compiled, sources, names, template_issues = _compile_templates(
        document, spec, base, roots, chosen
    )
    issues.extend(template_issues)
    issues.extend(_contrast_issues(document, spec, chosen))
    if issues:
        return None, issues
    if "score" in compiled and spec.templates.score is None:  # the built-in default
        templates = spec.templates.model_copy(update={"score": BUILTIN_TEMPLATES["score"]})
        spec = spec.model_copy(update={"templates": templates})
    spec.attach(
        source=path,
        principles=chosen,
        templates=compiled,
        template_sources=sources,
        template_names=names,
        warnings=unselected_own_principles(document, spec, own, chosen),
    )
    return spec, []

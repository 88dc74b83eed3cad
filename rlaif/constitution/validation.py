"""Validate principle and constitution files together: every error with its file and line, and
warnings for what a user wrote that no constitution uses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rlaif.config import ValidationIssue
from rlaif.constitution import library
from rlaif.constitution.loader import _Collector, _load_constitution, _read_principle_file


def _looks_like_constitution(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return bool(re.search(r"^(name|templates)\s*:", head, re.MULTILINE))


def validate_paths(paths: Sequence[str | Path]) -> list[ValidationIssue]:
    """Validate principle and/or constitution files (folders are searched for ``*.yaml``) and
    return every issue found in every file; duplicate principle ids across files included."""
    return check_paths(paths).errors


@dataclass
class ValidationReport:
    """What :func:`check_paths` found: errors (the files are unusable) and warnings (they load,
    but something a user wrote is not used)."""

    errors: list[ValidationIssue]
    warnings: list[ValidationIssue]


def yaml_files(paths: Sequence[str | Path]) -> list[Path]:
    """Each path, with a folder replaced by the ``*.yaml``/``*.yml`` files under it, sorted."""
    files: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files.extend(sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]))
        else:
            files.append(path)
    return files


def principle_files(paths: Sequence[str | Path]) -> list[Path]:
    """The principle files among ``paths`` (folders searched as :func:`yaml_files` does;
    constitutions in them left aside)."""
    return [f for f in yaml_files(paths) if not (f.is_file() and _looks_like_constitution(f))]


def constitution_files(folder: Path) -> list[Path]:
    """The constitutions in ``folder`` and its subfolders (files with a top-level ``name:`` or
    ``templates:`` key), sorted."""
    return [f for f in yaml_files([folder]) if _looks_like_constitution(f)]


def check_paths(paths: Sequence[str | Path]) -> ValidationReport:
    """Validate principle and constitution files as :func:`validate_paths` does, and also warn
    about what a user wrote that no constitution uses: a principle of a file included by path
    that none of its constitution's selectors keep, and, when constitutions are given, a
    principle file given beside them that none of them includes (built-in files are exempt)."""
    files = yaml_files(paths)
    collector = _Collector()
    constitutions = [f for f in files if f.is_file() and _looks_like_constitution(f)]
    readable: list[Path] = []
    for path in files:
        if path in constitutions:
            continue
        if not path.exists():
            collector.issues.append(ValidationIssue(str(path), 1, 1, "", "file not found"))
            continue
        before = len(collector.issues)
        _read_principle_file(path, collector)
        if len(collector.issues) == before:
            readable.append(path)
    report = ValidationReport(list(collector.issues), [])
    included: set[Path] = set()
    for path in constitutions:
        own = _Collector()
        constitution, issues = _load_constitution(path, collector=own)
        report.errors.extend(issues)
        included |= own.included
        if constitution is not None:
            report.warnings.extend(constitution.warnings)
    if constitutions:
        report.warnings.extend(_unused_files(readable, included, constitutions))
    return report


def _unused_files(
    files: list[Path], included: set[Path], constitutions: list[Path]
) -> list[ValidationIssue]:
    builtin = library.principles_dir().resolve()
    names = ", ".join(library.display_path(c) for c in constitutions)
    return [
        ValidationIssue(
            library.display_path(path),
            1,
            1,
            "",
            f"no constitution validated here includes this file ({names}), so none of its "
            "principles is used; add it to a constitution's principles.include",
        )
        for path in files
        if path.resolve() not in included and not path.resolve().is_relative_to(builtin)
    ]

"""Which included principles a constitution keeps, and which of the user's own it leaves out.

A constitution filters the built-in library freely (``include: [harmlessness]`` with
``ids: [overall-harm]`` keeps one of 25 on purpose). A principle of a file the constitution names
by path is different: someone wrote it for this constitution, so when none of the selectors keep
it (the scaffold's ``tags: [custom]`` against ``tags: [harmlessness]``) it is reported, once per
file, at the principle's file and line, with the selectors that missed it. Naming it under
``exclude`` says the omission is meant.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlaif.config import ValidationIssue, YamlDocument, closest
from rlaif.constitution.schema import ConstitutionSpec, Principle


@dataclass(frozen=True)
class OwnPrinciple:
    """A principle read from a file the constitution includes by path (not a built-in set)."""

    principle: Principle
    file: str
    """Its file, as shown to the user."""
    line: int
    column: int


_SHOWN = 5
"""How many left-out ids a warning names before ``and N more``."""


class UnselectedPrincipleWarning(UserWarning):
    """A principle of a file the constitution includes by path that none of its selectors
    keep (see :mod:`rlaif.constitution.selection`)."""


def select_principles(
    document: YamlDocument, spec: ConstitutionSpec, available: list[Principle]
) -> tuple[list[Principle], list[ValidationIssue]]:
    """The principles ``spec.principles`` keeps of ``available``, and the unknown ids and tags
    it names (did-you-mean included)."""
    issues: list[ValidationIssue] = []
    by_id = {p.id: p for p in available}
    all_tags = {tag for p in available for tag in p.tags}
    selection = spec.principles
    for kind, names, known in (
        ("ids", selection.ids, by_id),
        ("exclude", selection.exclude, by_id),
        ("tags", selection.tags, all_tags),
    ):
        for index, name in enumerate(names):
            if name not in known:
                hint = closest(name, known)
                what = "tag" if kind == "tags" else "principle id"
                message = f"unknown {what} '{name}'" + (
                    f" (did you mean '{hint}'?)" if hint else ""
                )
                issues.append(document.issue(("principles", kind, index), message))
    if selection.ids or selection.tags:
        chosen = [
            p for p in available if p.id in selection.ids or set(p.tags) & set(selection.tags)
        ]
    else:
        chosen = list(available)
    chosen = [p for p in chosen if p.id not in selection.exclude]
    if not chosen and not issues:
        issues.append(document.issue(("principles",), "the selection matches no principle"))
    return chosen, issues


def unselected_own_principles(
    document: YamlDocument,
    spec: ConstitutionSpec,
    own: list[OwnPrinciple],
    chosen: list[Principle],
) -> list[ValidationIssue]:
    """One warning per file included by path whose principles the selectors leave out (those
    ``exclude`` names aside), at the first such principle's line: its id and tags when it is
    the only one, else the ids left out."""
    kept = {p.id for p in chosen} | set(spec.principles.exclude)
    dropped: dict[str, list[OwnPrinciple]] = {}
    for entry in own:
        if entry.principle.id not in kept:
            dropped.setdefault(entry.file, []).append(entry)
    selectors = _selectors(document, spec)
    warnings = []
    for entries in dropped.values():
        first = entries[0]
        if len(entries) == 1:
            tags = ", ".join(first.principle.tags) or "none"
            what = f"principle '{first.principle.id}' (tags: {tags}) is"
            them, ids_of = "it", "its id"
        else:
            ids = [e.principle.id for e in entries]
            more = f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
            what = f"{len(ids)} principles of this file ({', '.join(ids[:_SHOWN])}{more}) are"
            them, ids_of = "them", "their ids"
        warnings.append(
            ValidationIssue(
                first.file,
                first.line,
                first.column,
                "",
                f"{what} left out of constitution '{spec.name}': none of its selectors keep "
                f"{them} ({selectors}); add {ids_of} to principles.ids or one of those tags "
                f"to {them}, or name {them} under principles.exclude if that is meant",
            )
        )
    return warnings


def _selectors(document: YamlDocument, spec: ConstitutionSpec) -> str:
    parts = []
    for kind in ("ids", "tags"):
        names = getattr(spec.principles, kind)
        if names:
            line, column = document.position(("principles", kind))
            parts.append(
                f"principles.{kind}: [{', '.join(names)}] at {document.file}:{line}:{column}"
            )
    return "; ".join(parts)

"""Translate pydantic validation errors into file:line:column issues with useful messages."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from rlaif.constitution.errors import ValidationIssue
from rlaif.constitution.yaml_source import FieldPath, YamlDocument


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, dict, typing.Union, types.UnionType):
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
        return found
    return []


def model_at(model: type[BaseModel], path: FieldPath) -> type[BaseModel] | None:
    """The nested model class that validates the value at ``path`` (list indices skipped)."""
    current: type[BaseModel] | None = model
    for part in path:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        candidates = _models_in(field.annotation)
        current = candidates[0] if candidates else None
    return current


def closest(word: str, options: typing.Iterable[str]) -> str | None:
    """The option most similar to ``word``, if any is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _existing_prefix(document: YamlDocument, loc: FieldPath) -> FieldPath:
    for end in range(len(loc), -1, -1):
        if loc[:end] in document.value_positions:
            return loc[:end]
    return ()


def issues_from_validation_error(
    document: YamlDocument, error: ValidationError, model: type[BaseModel]
) -> list[ValidationIssue]:
    """One :class:`ValidationIssue` per pydantic error, placed at the offending key or value."""
    issues: list[ValidationIssue] = []
    for detail in error.errors():
        loc: FieldPath = tuple(detail["loc"])
        kind = detail["type"]
        if kind == "missing":
            issues.append(_located(document, loc, loc[:-1], "field required"))
        elif kind == "missing_compare":
            issues.append(_located(document, (*loc, "compare"), loc, detail["msg"]))
        elif kind == "general_with_applies_to":
            issues.append(document.issue((*loc, "applies_to"), detail["msg"], key=True))
        elif kind == "extra_forbidden":
            known = model_at(model, loc[:-1])
            message = f"unknown key '{loc[-1]}'"
            if known is not None:
                suggestion = closest(str(loc[-1]), known.model_fields)
                if suggestion:
                    message += f" (did you mean '{suggestion}'?)"
                else:
                    message += f"; allowed keys: {', '.join(known.model_fields)}"
            issues.append(document.issue(loc, message, key=True))
        else:
            shown = _existing_prefix(document, loc) or loc
            message = str(detail["msg"])
            if detail.get("input") is not None and kind.endswith("_type"):
                message += f" (got {type(detail['input']).__name__})"
            issues.append(document.issue(shown, _lower_first(message)))
    return issues


def _located(
    document: YamlDocument, field: FieldPath, at: FieldPath, message: str
) -> ValidationIssue:
    from rlaif.constitution.errors import format_field_path

    line, column = document.position(at)
    return ValidationIssue(document.file, line, column, format_field_path(field), message)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text

"""Translate pydantic validation errors into messages a user can act on: the field they concern,
"did you mean" for unknown keys, and (given the YAML document) the file, line and column.

A model validator can point its error at one of the model's own fields by giving the field's name
as context: ``PydanticCustomError("kind", "message", {"field": "compare"})``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from rlaif.config.errors import ValidationIssue, format_field_path
from rlaif.config.yaml_source import FieldPath, YamlDocument


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


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option most similar to ``word``, if any is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


@dataclass(frozen=True)
class FieldProblem:
    """One pydantic error in words, before it is placed in a file."""

    path: FieldPath
    """The field it concerns."""
    message: str
    """What is wrong."""
    at_key: bool = False
    """It is about the key at ``path`` (unknown, or named by a model validator), so it is shown
    at the key rather than at the value."""
    of_value: bool = False
    """It is about a value the input holds; ``path`` may go deeper than the input does (into
    pydantic's union branches), so a file shows the deepest part of it that the file has."""
    value: Any = None
    """The value found wrong, for messages that show it (``of_value`` problems)."""


def field_problems(
    error: ValidationError, model: type[BaseModel] | None = None
) -> list[FieldProblem]:
    """One :class:`FieldProblem` per error of ``error``, raised while validating ``model`` (which,
    when given, lets an unknown key be answered with "did you mean")."""
    problems: list[FieldProblem] = []
    for detail in error.errors():
        loc: FieldPath = tuple(detail["loc"])
        kind = detail["type"]
        named = (detail.get("ctx") or {}).get("field")
        if kind == "missing":
            problems.append(FieldProblem(loc, "field required"))
        elif isinstance(named, str):
            problems.append(FieldProblem((*loc, named), str(detail["msg"]), at_key=True))
        elif kind == "extra_forbidden":
            problems.append(FieldProblem(loc, _unknown_key(model, loc), at_key=True))
        elif kind == "value_error":  # a validator's own sentence, which says what it checks
            message = str(detail["msg"]).removeprefix("Value error, ")
            problems.append(FieldProblem(loc, message, value=detail.get("input")))
        else:
            message = str(detail["msg"])
            if detail.get("input") is not None and kind.endswith("_type"):
                message += f" (got {type(detail['input']).__name__})"
            problems.append(
                FieldProblem(loc, _lower_first(message), of_value=True, value=detail.get("input"))
            )
    return problems


def describe_validation_error(
    error: ValidationError,
    model: type[BaseModel] | None = None,
    *,
    name: Callable[[FieldPath], str] = format_field_path,
    show_values: bool = False,
) -> str:
    """The one-line form of a :class:`ValidationError` used wherever there is no file position to
    point at (data records, model options, command-line options): each problem as
    ``where: what is wrong`` (``where`` from ``name``, e.g. ``response[1]``, ``--limit``), joined
    by ``; ``. A problem with no field (a model validator's sentence) stands alone.
    ``show_values`` appends ``(got VALUE)`` to a wrong value, clipped to 60 characters."""
    parts = []
    for problem in field_problems(error, model):
        message = problem.message
        if show_values and problem.of_value:
            message += f" (got {problem.value!r:.60})"
        where = name(problem.path) if problem.path else ""
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _unknown_key(model: type[BaseModel] | None, loc: FieldPath) -> str:
    known = model_at(model, loc[:-1]) if model is not None else None
    message = f"unknown key '{loc[-1]}'"
    if known is not None:
        suggestion = closest(str(loc[-1]), known.model_fields)
        if suggestion:
            message += f" (did you mean '{suggestion}'?)"
        else:
            message += f"; allowed keys: {', '.join(known.model_fields)}"
    return message


def issue_in(document: YamlDocument, problem: FieldProblem) -> ValidationIssue:
    """Place ``problem`` at its key or value in ``document``."""
    path = problem.path
    if problem.of_value:
        path = _existing_prefix(document, path) or path
    return document.issue(path, problem.message, key=problem.at_key)


def issues_from_validation_error(
    document: YamlDocument, error: ValidationError, model: type[BaseModel]
) -> list[ValidationIssue]:
    """One :class:`ValidationIssue` per pydantic error, placed at the offending key or value."""
    return [issue_in(document, problem) for problem in field_problems(error, model)]


def _existing_prefix(document: YamlDocument, loc: FieldPath) -> FieldPath:
    for end in range(len(loc), -1, -1):
        if loc[:end] in document.value_positions:
            return loc[:end]
    return ()


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text

"""Principles and constitutions: YAML files validated into pydantic models, principle sampling
and sandboxed prompt rendering.

Public API: :func:`load_constitution`, :class:`Constitution`, :class:`Principle`,
:func:`load_principles`, :func:`validate_paths`.
"""

from rlaif.constitution.constitution import Constitution
from rlaif.constitution.errors import ConstitutionError, TemplateVariableError, ValidationIssue
from rlaif.constitution.loader import load_constitution, load_principles, validate_paths
from rlaif.constitution.schema import (
    ConstitutionSpec,
    Message,
    Principle,
    PrincipleFile,
    PrincipleSelection,
    Sampling,
    Templates,
)
from rlaif.constitution.templates import TEMPLATE_VARIABLES, format_conversation

__all__ = [
    "TEMPLATE_VARIABLES",
    "Constitution",
    "ConstitutionError",
    "ConstitutionSpec",
    "Message",
    "Principle",
    "PrincipleFile",
    "PrincipleSelection",
    "Sampling",
    "TemplateVariableError",
    "Templates",
    "ValidationIssue",
    "format_conversation",
    "load_constitution",
    "load_principles",
    "validate_paths",
]

"""Principles and constitutions: YAML files validated into pydantic models, principle sampling
and sandboxed prompt rendering.

Public API: :func:`load_constitution`, :class:`Constitution`, :class:`Principle`,
:func:`load_principles`, :func:`validate_paths` (:func:`check_paths` adds warnings), and which
principles fit a prompt: :func:`applicable_principles`, :func:`matched_principles`,
:func:`prompt_categories`.
"""

from rlaif.constitution.applicability import (
    applicable_principles,
    matched_principles,
    prompt_categories,
)
from rlaif.constitution.constitution import Constitution
from rlaif.constitution.errors import (
    ConstitutionError,
    NoApplicablePrincipleError,
    TemplateVariableError,
)
from rlaif.constitution.loader import load_constitution, load_principles
from rlaif.constitution.schema import (
    AppliesTo,
    ConstitutionSpec,
    Contrast,
    Principle,
    PrincipleFile,
    PrincipleSelection,
    RequestCheck,
    Sampling,
    Templates,
)
from rlaif.constitution.selection import UnselectedPrincipleWarning
from rlaif.constitution.templates import TEMPLATE_VARIABLES, format_conversation
from rlaif.constitution.validation import ValidationReport, check_paths, validate_paths

__all__ = [
    "TEMPLATE_VARIABLES",
    "AppliesTo",
    "Constitution",
    "ConstitutionError",
    "ConstitutionSpec",
    "Contrast",
    "NoApplicablePrincipleError",
    "Principle",
    "PrincipleFile",
    "PrincipleSelection",
    "RequestCheck",
    "Sampling",
    "TemplateVariableError",
    "Templates",
    "UnselectedPrincipleWarning",
    "ValidationReport",
    "applicable_principles",
    "check_paths",
    "format_conversation",
    "load_constitution",
    "load_principles",
    "matched_principles",
    "prompt_categories",
    "validate_paths",
]

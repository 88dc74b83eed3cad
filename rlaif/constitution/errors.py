"""Errors of principle and constitution files, and of rendering their templates."""

from __future__ import annotations

from rlaif.config import ConfigFileError
from rlaif.errors import RlaifError


class ConstitutionError(ConfigFileError):
    """Raised when principle or constitution files do not validate; holds every issue found."""


class TemplateVariableError(RlaifError):
    """A template was rendered without a variable it uses, or with an unknown stage."""


class NoApplicablePrincipleError(RlaifError, ValueError):
    """No principle of a constitution fits a prompt: it has no general principle and none of
    its category principles applies (``sampling.strategy: matched``)."""

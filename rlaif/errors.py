"""Exceptions that mean "the user can fix this": the CLI prints them as one message and exits 2."""

from __future__ import annotations


class RlaifError(Exception):
    """Base class for errors caused by user input or configuration rather than by a bug."""


class ConfigError(RlaifError):
    """A configuration value is missing, malformed or inconsistent."""

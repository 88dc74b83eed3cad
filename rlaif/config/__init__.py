"""The config layer shared by every YAML file and command line of rlaif: safe YAML that remembers
where each value came from, pydantic validation errors turned into ``file:line:column`` messages
with "did you mean", ``KEY=VALUE`` options, and :class:`ConfigFileError`.

It imports nothing of rlaif but :mod:`rlaif.errors`, so every layer above may use it.
"""

from rlaif.config.errors import ConfigFileError, ValidationIssue, format_field_path
from rlaif.config.options import merge_nested, parse_key_values
from rlaif.config.validation import (
    FieldProblem,
    closest,
    describe_validation_error,
    field_problems,
    issue_in,
    issues_from_validation_error,
    model_at,
)
from rlaif.config.yaml_source import (
    MAX_FILE_BYTES,
    MAX_NODES,
    FieldPath,
    YamlDocument,
    load_yaml_document,
    load_yaml_mapping,
    parse_yaml_document,
    read_limited_text,
)

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "ConfigFileError",
    "FieldPath",
    "FieldProblem",
    "ValidationIssue",
    "YamlDocument",
    "closest",
    "describe_validation_error",
    "field_problems",
    "format_field_path",
    "issue_in",
    "issues_from_validation_error",
    "load_yaml_document",
    "load_yaml_mapping",
    "merge_nested",
    "model_at",
    "parse_key_values",
    "parse_yaml_document",
    "read_limited_text",
]

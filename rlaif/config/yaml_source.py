"""Safe YAML loading that remembers where every value came from.

Only plain YAML data is accepted (strings, numbers, booleans, null, lists, mappings): any other tag,
such as ``!!python/object/apply``, is rejected before anything is constructed. Files over 1 MiB and
documents that expand past a node budget through aliases ("billion laughs") are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rlaif.config.errors import ConfigFileError, ValidationIssue, format_field_path
from rlaif.errors import ConfigError

MAX_FILE_BYTES = 1 << 20
"""Largest config file (principles, constitution, template, pipeline, ...) accepted (1 MiB)."""
MAX_NODES = 50_000
"""Most YAML nodes a document may expand to once aliases are followed."""

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_YAML}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_MERGE_TAG = f"{_YAML}merge"

Position = tuple[int, int]
FieldPath = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """A loaded YAML document with the 1-based position of each value and mapping key."""

    file: str
    data: Any
    value_positions: dict[FieldPath, Position] = field(default_factory=dict)
    key_positions: dict[FieldPath, Position] = field(default_factory=dict)

    def position(self, path: FieldPath, *, key: bool = False) -> Position:
        """Best known position for ``path``: the key or value itself, else its nearest ancestor."""
        table = self.key_positions if key else self.value_positions
        if path in table:
            return table[path]
        for end in range(len(path) - 1, -1, -1):
            if path[:end] in self.value_positions:
                return self.value_positions[path[:end]]
        return (1, 1)

    def issue(self, path: FieldPath, message: str, *, key: bool = False) -> ValidationIssue:
        """Build a :class:`ValidationIssue` located at ``path`` in this document."""
        line, column = self.position(path, key=key)
        return ValidationIssue(self.file, line, column, format_field_path(path), message)


def read_limited_text(path: Path, display: str) -> str:
    """Read a UTF-8 text file, refusing files over :data:`MAX_FILE_BYTES`."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ConfigFileError.at(display, 1, 1, f"cannot read file: {error.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ConfigFileError.at(
            display, 1, 1, f"file is {size / (1 << 20):.1f} MiB; the limit is 1 MiB per file"
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigFileError.at(
            display, 1, 1, f"file is not UTF-8 text ({error.reason})"
        ) from None


def load_yaml_document(path: Path, display: str | None = None) -> YamlDocument:
    """Load one YAML file safely, keeping value and key positions for error messages."""
    display = display or str(path)
    text = read_limited_text(path, display)
    return parse_yaml_document(text, display)


def load_yaml_mapping(path: Path, kind: str) -> YamlDocument:
    """Load a config file that must hold a YAML mapping, such as a pipeline or training config
    (``kind`` names it in errors): :class:`ConfigError` when the file does not exist,
    :class:`ConfigFileError` when it is no mapping or not safe YAML."""
    if not path.is_file():
        raise ConfigError(f"{kind} not found: {path}")
    document = load_yaml_document(path, str(path))
    if not isinstance(document.data, dict):
        raise ConfigFileError([document.issue((), f"a {kind} must be a YAML mapping")])
    return document


def parse_yaml_document(text: str, display: str) -> YamlDocument:
    """Parse YAML text safely; see :func:`load_yaml_document`."""
    if not text.strip():
        raise ConfigFileError.at(display, 1, 1, "file is empty")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(display, text, error) from None
    except yaml.YAMLError as error:
        raise ConfigFileError.at(display, 1, 1, f"invalid YAML: {error}") from None
    finally:
        loader.dispose()
    if node is None:
        raise ConfigFileError.at(display, 1, 1, "file holds no YAML document (only comments?)")
    document = YamlDocument(display, None)
    builder = _Builder(document, loader)
    document.data = builder.build(node, ())
    return document


def _syntax_error(display: str, text: str, error: yaml.MarkedYAMLError) -> ConfigFileError:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    lines = text.splitlines()
    offending = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in offending[: max(column, 1)] or "'\\t'" in problem:
        message = "tab character used for indentation; YAML needs spaces"
    else:
        context = f" ({error.context})" if error.context else ""
        message = f"invalid YAML: {problem}{context}"
    return ConfigFileError.at(display, line, column, message)


class _Builder:
    """Turns a composed node graph into Python data without running any constructor but YAML's own
    scalar resolvers, counting nodes so that alias expansion is bounded."""

    def __init__(self, document: YamlDocument, loader: yaml.SafeLoader):
        self.document = document
        self.loader = loader
        self.visited = 0
        self.stack: set[int] = set()

    def _error(self, node: Node, message: str) -> ConfigFileError:
        mark = node.start_mark
        return ConfigFileError.at(self.document.file, mark.line + 1, mark.column + 1, message)

    def build(self, node: Node, path: FieldPath) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self._error(
                node,
                f"document expands to more than {MAX_NODES} values through aliases "
                "(alias bomb?); write the data out instead",
            )
        if id(node) in self.stack:
            raise self._error(node, "recursive alias: a value contains itself")
        self.document.value_positions.setdefault(
            path, (node.start_mark.line + 1, node.start_mark.column + 1)
        )
        if isinstance(node, ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                raise self._error(node, _tag_message(node.tag))
            return self.loader.construct_object(node, deep=True)
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != f"{_YAML}seq":
                    raise self._error(node, _tag_message(node.tag))
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                if node.tag != f"{_YAML}map":
                    raise self._error(node, _tag_message(node.tag))
                return self._mapping(node, path)
        finally:
            self.stack.discard(id(node))
        raise self._error(node, "unsupported YAML node")

    def _mapping(self, node: MappingNode, path: FieldPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = self.build(value_node, path)
                sources = merged if isinstance(merged, list) else [merged]
                for source in sources:
                    if not isinstance(source, dict):
                        raise self._error(value_node, "'<<' merge needs a mapping")
                    for merged_key, merged_value in source.items():
                        result.setdefault(merged_key, merged_value)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self._error(key_node, "mapping keys must be plain strings")
            if key_node.tag not in _SCALAR_TAGS:
                raise self._error(key_node, _tag_message(key_node.tag))
            key = self.loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in first_seen:
                raise self._error(
                    key_node, f"duplicate key '{key}' (first defined on line {first_seen[key]})"
                )
            first_seen[key] = line
            self.document.key_positions[(*path, key)] = (line, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        return result


def _tag_message(tag: str) -> str:
    shown = tag.replace(_YAML, "!!")
    return (
        f"YAML tag '{shown}' is not allowed: only plain data (strings, numbers, booleans, "
        "lists, mappings) is accepted, and nothing in these files is ever executed"
    )

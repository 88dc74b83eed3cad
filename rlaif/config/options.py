"""``KEY=VALUE`` command-line options: backend options, judge options and training overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from rlaif.errors import ConfigError


def parse_key_values(
    pairs: Iterable[str] | None,
    *,
    name: str = "option",
    malformed: str = "{name} {pair!r} is not key=value",
    dotted: bool = False,
) -> dict[str, Any]:
    """Turn ``["dtype=float32", "max_batch_size=8"]`` into ``{"dtype": "float32",
    "max_batch_size": 8}``: each value is read as YAML (numbers, booleans, lists; nothing but
    plain data), an empty value is ``""``.

    ``dotted`` makes ``lora.r=8`` reach a nested mapping (``{"lora": {"r": 8}}``). Errors are
    :class:`ConfigError`s that begin with ``name`` (what the user wrote: ``override``,
    ``--option``); ``malformed`` words the error for a pair without ``=`` or key.
    """
    result: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(malformed.format(name=name, pair=pair))
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as error:
            raise ConfigError(f"{name} {pair!r}: value is not valid YAML ({error})") from None
        parts = key.strip().split(".") if dotted else [key.strip()]
        target = result
        for part in parts[:-1]:
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                raise ConfigError(f"{name} {pair!r} conflicts with an earlier {name}")
            target = existing
        target[parts[-1]] = value
    return result


def merge_nested(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, mappings merged key by key at every depth (``extra`` wins)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_nested(merged[key], value)
        else:
            merged[key] = value
    return merged

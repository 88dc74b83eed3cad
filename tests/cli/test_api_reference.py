"""docs/api.md lists the public API: every name in it is importable from its package and has a
summary, and every name a package exports is in it (that the page matches the code is checked
with the other generated documents, in test_cli_reference.py)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from rlaif.cli.api_reference import PACKAGES, public_names

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> dict[str, dict[str, str]]:
    """package → name → summary, read back from docs/api.md."""
    found: dict[str, dict[str, str]] = {}
    package = ""
    for line in (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## `([\w.]+)`", line)
        if heading:
            package = heading.group(1)
            found[package] = {}
            continue
        row = re.match(r"\| `(\w+)` \| [\w ]+ \| (.*) \|$", line)
        if row and package:
            found[package][row.group(1)] = row.group(2).strip()
    return found


def test_every_documented_name_is_importable_and_described() -> None:
    documented = _documented()
    assert set(documented) == set(PACKAGES)
    for package, names in documented.items():
        module = importlib.import_module(package)
        for name, summary in names.items():
            assert hasattr(module, name), f"{package}.{name} is in docs/api.md but not importable"
            assert summary, f"{package}.{name} has no docstring"


def test_every_export_is_documented() -> None:
    documented = _documented()
    for package in PACKAGES:
        exported = {name for name, _ in public_names(package)}
        assert exported == set(documented[package]), package

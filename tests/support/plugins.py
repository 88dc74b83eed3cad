"""Install a package from a test: a module on the path and its ``*.dist-info`` with entry points,
as ``pip install`` would leave them, so ``importlib.metadata.entry_points`` finds it."""

from __future__ import annotations

from pathlib import Path

import pytest


def install_plugin(
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    source: str,
    group: str,
    entry_points: dict[str, str],
) -> None:
    """Write ``module`` (its ``source``) into ``folder`` with a distribution named after it
    declaring ``entry_points`` (name → ``module:attribute``) in ``group``, and put ``folder`` on
    the path for the rest of the test."""
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    info = folder / f"{module}-0.1.dist-info"
    info.mkdir()
    name = module.replace("_", "-")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "".join(f"{entry} = {target}\n" for entry, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}", encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))

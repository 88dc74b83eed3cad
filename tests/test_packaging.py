"""The wheel carries the built-in library, the packaged copy is what an installed rlaif uses, and
pyproject.toml declares every package the code imports."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_the_library_and_works_installed(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("rlaif-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        "rlaif/_library/principles/harmlessness.yaml",
        "rlaif/_library/principles/helpfulness.yaml",
        "rlaif/_library/principles/honesty.yaml",
        "rlaif/_library/constitution/cai-harmless.yaml",
        "rlaif/_library/constitution/templates/compare.j2",
        "rlaif/_library/eval/README.md",
        "rlaif/_library/eval/suites/hh-harmless.yaml",
        "rlaif/_library/eval/data/hh_harmless_test.jsonl",
        "rlaif/_library/eval/data/LICENSE-hh-rlhf",
        "rlaif/_library/eval/data/README.md",
        "rlaif/constitution/loader.py",
        "rlaif/annotate/static/index.html",
        "rlaif/annotate/static/app.js",
        "rlaif/annotate/static/app.css",
    ]
    assert [n for n in expected if n not in names] == []
    # No test server or kill harness ships: they live in tests/support/.
    servers = ("testing.py", "batch_testing", "batch_check", "scripted_server", "batch_fake")
    assert [n for n in names if any(server in n for server in servers)] == []
    # The development data beside the checkout is never packaged, nor a suite pointing at it.
    assert [n for n in names if "hh_harmless_test_dev" in n or "hh-harmless-dev" in n] == []
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import rlaif, rlaif.constitution.library as lib;"
        "from rlaif.eval.loaders import load_labelled_pairs;"
        "from rlaif.eval.suites import find_suite;"
        "c = rlaif.load_constitution('cai-harmless');"
        "print(lib.library_root()); print(len(c.resolved_principles));"
        "print(len(load_labelled_pairs('hh-harmless').pairs));"
        "print(find_suite('hh-harmless').resolve_path())"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out[0] == str(target / "rlaif" / "_library")
    assert int(out[1]) >= 16
    assert int(out[2]) == 400  # the built-in human-labelled suite, read from the package
    assert out[3] == str(target / "rlaif" / "_library" / "eval" / "data" / "hh_harmless_test.jsonl")


def _third_party_imports(folder: Path) -> set[str]:
    """Top-level names of the modules imported under ``folder`` that are neither the standard
    library, rlaif, nor a module of the checkout itself (test helpers, ``benchmarks``)."""
    local = {p.stem for p in REPO.glob("tests/**/*.py")} | {"benchmarks", "rlaif", "__future__"}
    local |= {p.name for p in REPO.glob("tests/*/") if (p / "__init__.py").is_file()}
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in local}


def _declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r)[0].lower().replace("_", "-") for r in requirements}


def test_every_imported_package_is_declared() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _declared(project["dependencies"])
    dev = _declared(project["optional-dependencies"]["dev"])
    distributions = importlib.metadata.packages_distributions()

    def undeclared(folder: str, allowed: set[str]) -> list[str]:
        missing = []
        for name in sorted(_third_party_imports(REPO / folder)):
            owners = {d.lower().replace("_", "-") for d in distributions.get(name, [name])}
            if not owners & allowed:
                missing.append(f"{name} ({', '.join(sorted(owners))})")
        return missing

    assert undeclared("rlaif", runtime) == []
    assert undeclared("tests", runtime | dev) == []
    assert undeclared("benchmarks", runtime | dev) == []

    imported = {
        d.lower().replace("_", "-")
        for folder in ("rlaif", "tests", "benchmarks")
        for name in _third_party_imports(REPO / folder)
        for d in distributions.get(name, [name])
    }
    assert sorted((runtime | dev) - imported - set(_NOT_IMPORTED)) == []


_NOT_IMPORTED = {
    "gguf": "transformers reads GGUF files with it",
    "fastapi": "`transformers serve` in the backend tests",
    "uvicorn": "`transformers serve` in the backend tests",
    "hatchling": "builds the wheel (tests build one without build isolation)",
    "mypy": "make check",
    "ruff": "make check",
    "import-linter": "make check (lint-imports, the layer contract)",
    "types-pyyaml": "mypy stubs",
    "pytest-xdist": "make test runs the tests in two processes (pytest -n)",
}
"""Declared packages that nothing imports, and why each is needed."""

"""The layering contract of docs/architecture.md: the tree keeps it, and `make check`'s
``lint-imports`` fails on a copy of the package where a low layer imports a high one or two
modules import each other."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contract on the package under ``tree``."""
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """The package and the contract, copied so that a test can break them."""
    if not LINT.exists():
        pytest.skip("lint-imports is not installed (make setup installs it)")
    shutil.copytree(
        ROOT / "rlaif", tmp_path / "rlaif", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_the_contract(package_copy: Path) -> None:
    result = _lint(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_a_low_layer_importing_the_judge_breaks_the_check(package_copy: Path) -> None:
    (package_copy / "rlaif" / "data" / "uses_judge.py").write_text(
        "from rlaif.judge.pairwise import PairwiseJudge\n", encoding="utf-8"
    )
    result = _lint(package_copy)
    assert result.returncode != 0
    assert "rlaif.data.uses_judge -> rlaif.judge.pairwise" in result.stdout


def test_the_judge_importing_train_breaks_the_check(package_copy: Path) -> None:
    # Hidden inside a function, as the old cycles were: it is still an import.
    (package_copy / "rlaif" / "judge" / "trains.py").write_text(
        "def train():\n    from rlaif.train import sft\n    return sft\n", encoding="utf-8"
    )
    result = _lint(package_copy)
    assert result.returncode != 0
    assert "rlaif.judge.trains -> rlaif.train" in result.stdout


def test_a_cycle_between_two_modules_breaks_the_check(package_copy: Path) -> None:
    folder = package_copy / "rlaif" / "runs"
    (folder / "first.py").write_text("from rlaif.runs import second\n", encoding="utf-8")
    (folder / "second.py").write_text("from rlaif.runs import first\n", encoding="utf-8")
    result = _lint(package_copy)
    assert result.returncode != 0
    assert "No cycles are allowed in rlaif.runs" in result.stdout


def test_reaching_into_a_subpackage_breaks_the_check(package_copy: Path) -> None:
    """From outside, ``rlaif.models.local`` is reached through its ``__init__``; its modules are
    internals (the same contract guards the other subpackages)."""
    (package_copy / "rlaif" / "train" / "reaches_in.py").write_text(
        "from rlaif.models.local.loading import resolve\n", encoding="utf-8"
    )
    result = _lint(package_copy)
    assert result.returncode != 0
    assert "rlaif.train.reaches_in -> rlaif.models.local.loading" in result.stdout
    (package_copy / "rlaif" / "train" / "reaches_in.py").write_text(
        "from rlaif.models.local import resolve\n", encoding="utf-8"
    )
    assert _lint(package_copy).returncode == 0

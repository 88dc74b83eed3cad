"""The wheel carries the built-in library, and the packaged copy is what an installed rlaif uses."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

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
        "rlaif/constitution/loader.py",
    ]
    assert [n for n in expected if n not in names] == []
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import rlaif, rlaif.constitution.library as lib;"
        "c = rlaif.load_constitution('cai-harmless');"
        "print(lib.library_root()); print(len(c.resolved_principles))"
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

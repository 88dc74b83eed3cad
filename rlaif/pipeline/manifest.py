"""Stage manifests: what ran, with which config, code and packages, and what it cost."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_NAME = "manifest.json"


class ModelUsageEntry(BaseModel):
    """Model calls one stage made to one model."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class StageManifest(BaseModel):
    """``runs/<name>/<stage>/manifest.json``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    stage: str
    """Stage name."""
    config_hash: str
    """Hash of everything the stage's output depends on (its config, models, inputs, upstream)."""
    status: Literal["running", "complete"] = "running"
    """``complete`` once the stage finished; ``running`` means interrupted (or still going)."""
    started_at: str = ""
    """Start time (UTC, ISO 8601)."""
    finished_at: str | None = None
    """End time, once complete."""
    seconds: float = 0.0
    """Wall time of the last (complete) run."""
    git_revision: str = "unknown"
    """The project's git revision, when run from a checkout."""
    packages: dict[str, str] = Field(default_factory=dict)
    """Versions of the packages that shape results."""
    model_usage: dict[str, ModelUsageEntry] = Field(default_factory=dict)
    """Calls, tokens and cost per model."""
    outputs: dict[str, str] = Field(default_factory=dict)
    """Output files, relative to the stage folder."""
    metrics: dict[str, Any] = Field(default_factory=dict)
    """Headline numbers of the stage."""
    notes: list[str] = Field(default_factory=list)
    """Anything a reader should know (skipped parts, fallbacks)."""


def stable_hash(payload: Any) -> str:
    """Short SHA-256 of a JSON-serialisable payload with sorted keys."""
    encoded = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:16]


def file_hash(path: Path) -> str:
    """Short SHA-256 of a file's bytes (``"missing"`` when absent)."""
    if not path.is_file():
        return "missing"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def git_revision() -> str:
    """``git rev-parse HEAD`` of the checkout holding this package, or ``unknown``."""
    here = Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    revision = result.stdout.strip()
    if result.returncode != 0 or not revision:
        return "unknown"
    dirty = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return revision + ("+dirty" if dirty else "")


def now() -> str:
    """Current UTC time, ISO 8601."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_stage_manifest(stage_dir: Path) -> StageManifest | None:
    """The stage's manifest, or ``None`` when there is none (or it is unreadable)."""
    path = stage_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return StageManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def write_stage_manifest(stage_dir: Path, manifest: StageManifest) -> None:
    """Write the manifest atomically (a killed process never leaves half a file)."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    temporary = stage_dir / (MANIFEST_NAME + ".tmp")
    temporary.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    temporary.replace(stage_dir / MANIFEST_NAME)

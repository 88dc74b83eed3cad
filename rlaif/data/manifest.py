"""Manifests: a JSON file beside each dataset recording how it was made.

``prefs.jsonl`` gets ``prefs.manifest.json`` holding the run settings (constitution hash, template
hashes, judge and policy names, mode, strategy, ...), package versions and counts. A rerun into
the same output must use the same settings, so a resumed file never mixes two configurations.
"""

from __future__ import annotations

import json
import time
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rlaif.errors import RlaifError

PACKAGES = (
    "rlaif",
    "torch",
    "transformers",
    "trl",
    "accelerate",
    "datasets",
    "peft",
    "pydantic",
    "openai",
    "anthropic",
)
"""The packages whose versions shape results, recorded in dataset and stage manifests."""


class SettingsMismatchError(RlaifError):
    """An output file exists and was made with other settings than the current run."""


class Manifest(BaseModel):
    """What produced a dataset file, and how many records it holds."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    output: str
    """File name of the dataset this manifest describes."""
    kind: str
    """What the file holds: ``preferences``, ``sft``, ``candidates``."""
    settings: dict[str, Any]
    """Every setting that shapes the records (a rerun must match them to resume)."""
    constitution: dict[str, Any] | None = None
    """Constitution name, version, content hash and template hashes."""
    judge: str | None = None
    """``provider/model`` of the judge or critic."""
    policy: str | None = None
    """``provider/model`` of the policy that sampled responses."""
    judge_plan: dict[str, Any] | None = None
    """How the judge labelled: its mode and why (``auto``'s reason), orders, principles a pair
    and request check (see :meth:`rlaif.judge.PairwiseJudge.plan_summary`)."""
    packages: dict[str, str] = Field(default_factory=dict)
    """Versions of the packages that matter for reproducing the file."""
    counts: dict[str, int] = Field(default_factory=dict)
    """Records written, skipped (by reason) and other tallies."""
    usage: dict[str, float] = Field(default_factory=dict)
    """Model calls, cache hits, tokens and cost of the runs that wrote the file."""
    files: dict[str, str] = Field(default_factory=dict)
    """Side files beside the output (skipped pairs, judgments)."""
    created: str = ""
    """When the first run started (UTC, ISO 8601)."""
    updated: str = ""
    """When a run last wrote this manifest."""


def package_versions() -> dict[str, str]:
    """Installed versions of the packages listed in :data:`PACKAGES` (absent ones left out)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def side_path(output: str | Path, suffix: str) -> Path:
    """``runs/prefs.jsonl`` + ``skipped.jsonl`` → ``runs/prefs.skipped.jsonl``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.{suffix}")


def manifest_path(output: str | Path) -> Path:
    """Where the manifest of ``output`` lives."""
    return side_path(output, "manifest.json")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_manifest(output: str | Path) -> Manifest | None:
    """The manifest of ``output``, or ``None`` when there is none."""
    path = manifest_path(output)
    if not path.exists():
        return None
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise RlaifError(f"{path}: not a valid manifest ({error})") from None


def check_resumable(output: str | Path, settings: dict[str, Any]) -> Manifest | None:
    """The existing manifest when ``output`` may be resumed with ``settings``.

    Raises :class:`SettingsMismatchError` naming the differing settings when the file was made
    with others (so one file never mixes two configurations).
    """
    existing = read_manifest(output)
    if existing is None:
        return None
    normalised = json.loads(json.dumps(settings, default=str))
    keys = sorted(set(existing.settings) | set(normalised))
    changed = [k for k in keys if existing.settings.get(k) != normalised.get(k)]
    if changed:
        details = ", ".join(
            f"{k}: {existing.settings.get(k)!r} → {normalised.get(k)!r}" for k in changed
        )
        raise SettingsMismatchError(
            f"{output} was written with other settings ({details}); choose another --out, "
            "or delete the file and its side files to start again"
        )
    return existing


def write_manifest(manifest: Manifest, output: str | Path) -> Path:
    """Write ``manifest`` beside ``output`` (atomically: a killed process leaves the old one)."""
    path = manifest_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest.packages = manifest.packages or package_versions()
    manifest.created = manifest.created or _now()
    manifest.updated = _now()
    manifest.settings = json.loads(json.dumps(manifest.settings, default=str))
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path

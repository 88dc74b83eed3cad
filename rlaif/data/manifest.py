"""Manifests: a JSON file beside each dataset recording how it was made.

``prefs.jsonl`` gets ``prefs.manifest.json`` holding the run settings (constitution hash, template
hashes, judge and policy names, mode, strategy, ...), package versions and counts. A rerun into
the same output must use the same settings, so a resumed file never mixes two configurations.

The manifest is also how a job knows a file is its own: an existing output is appended to,
resumed or repaired only when its manifest names it and the job's kind
(:func:`check_owned_output`); anything else is refused and left byte for byte as it was. An
empty file counts as new.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
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


SIDE_FILES = ("skipped.jsonl", "judgments.jsonl", "usage.jsonl", "batch.json")
"""What a dataset job keeps beside its output ``<stem>.jsonl`` as ``<stem>.<side file>``, besides
its manifest."""


class SettingsMismatchError(RlaifError):
    """An output file exists and was made with other settings than the current run."""


class NotOurOutputError(RlaifError):
    """An output path holds a file that is not an earlier output of this kind of job (no
    manifest, or a manifest of another file or kind); it is left untouched."""


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


def output_files(output: str | Path) -> list[Path]:
    """Every file a dataset job writes for ``output``: the file itself, its manifest and its
    :data:`SIDE_FILES`."""
    output = Path(output)
    return [output, manifest_path(output), *(side_path(output, side) for side in SIDE_FILES)]


def same_file(first: str | Path, second: str | Path) -> bool:
    """Whether two paths name one file: equal once resolved, or the same file on disk (a hard
    link, a symbolic link, another spelling)."""
    if Path(first).resolve() == Path(second).resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist
        return False


def check_owned_output(
    output: str | Path, kind: str, *, copies: Sequence[Path] = ()
) -> Manifest | None:
    """The manifest of ``output`` when a job that writes ``kind`` may resume it, ``None`` when
    the output is new (missing or empty, and so are its side files and ``copies``, the other
    files the job will write, such as a Parquet copy).

    Raises :class:`NotOurOutputError`, before anything is read or written, when one of those
    files holds data and there is no manifest (someone else's file: the job would append to it
    or cut its last line), or when the manifest describes another file or another kind."""
    output = Path(output)
    existing = read_manifest(output)
    if existing is None:
        for path in (*output_files(output), *copies):
            if path.is_file() and path.stat().st_size > 0:
                raise NotOurOutputError(
                    f"{path} exists but is not the output of an earlier run (there is no "
                    f"{manifest_path(output).name} beside it), and rlaif does not write into "
                    "files it did not make: choose another --out, or move the file away"
                )
        return None
    if existing.output != output.name:
        raise NotOurOutputError(
            f"{output}: its manifest {manifest_path(output).name} describes another file, "
            f"{existing.output}: choose another --out"
        )
    if existing.kind != kind:
        raise NotOurOutputError(
            f"{output} holds {existing.kind} (says {manifest_path(output).name}), not the "
            f"{kind} this command writes: choose another --out"
        )
    return existing


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

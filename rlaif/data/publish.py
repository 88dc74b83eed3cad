"""Publishing finished files: Parquet copies of JSONL outputs, and uploads to the Hugging Face hub
with a dataset card that states the constitution, the judge and the counts. (Writing files in
other trainers' formats is :mod:`rlaif.data.exporters`.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlaif.data.loaders import load_preferences, load_sft
from rlaif.data.manifest import Manifest, read_manifest


def load_output(path: str | Path, kind: str) -> Any:
    """A finished preference or SFT file as a ``datasets.Dataset``."""
    return load_preferences(path) if kind == "preferences" else load_sft(path)


def write_parquet(path: str | Path, kind: str, target: str | Path | None = None) -> Path:
    """Write the JSONL file ``path`` as Parquet (beside it unless ``target`` is given)."""
    source = Path(path)
    destination = Path(target) if target is not None else source.with_suffix(".parquet")
    load_output(source, kind).to_parquet(str(destination))
    return destination


def dataset_card(manifest: Manifest) -> str:
    """A hub dataset card (README.md) describing how the file was made."""
    constitution = manifest.constitution or {}
    lines = [
        "---",
        "tags: [rlaif, constitutional-ai, preference-data]",
        "---",
        f"# {manifest.output}",
        "",
        f"AI-labelled {manifest.kind} made with rlaif.",
        "",
        "| what | value |",
        "| --- | --- |",
        f"| constitution | {constitution.get('name', '-')} {constitution.get('version', '')} |",
        f"| constitution hash | `{constitution.get('hash', '-')}` |",
        f"| judge / critic | {manifest.judge or '-'} |",
        f"| policy | {manifest.policy or '-'} |",
    ]
    for key, value in sorted(manifest.settings.items()):
        if key in ("mode", "strategy", "both_orders", "tie_margin", "rounds"):
            lines.append(f"| {key} | {value} |")
    for key, count in sorted(manifest.counts.items()):
        lines.append(f"| {key} | {count} |")
    versions = ", ".join(f"{k} {v}" for k, v in sorted(manifest.packages.items()))
    lines += ["", f"Packages: {versions}.", ""]
    lines.append(
        "Labels were produced by an AI judge, not by people; measure judge–human agreement "
        "before trusting them (`rlaif eval agreement`)."
    )
    return "\n".join(lines) + "\n"


def push_to_hub(
    path: str | Path,
    repo_id: str,
    *,
    kind: str = "preferences",
    private: bool = True,
    token: str | None = None,
) -> None:
    """Upload a finished file to the hub as a dataset, with a card built from its manifest."""
    from huggingface_hub import HfApi

    dataset = load_output(path, kind)
    dataset.push_to_hub(repo_id, private=private, token=token)
    manifest = read_manifest(path)
    if manifest is not None:
        HfApi(token=token).upload_file(
            path_or_fileobj=dataset_card(manifest).encode("utf-8"),
            path_in_repo="README.md",
            repo_id=repo_id,
            repo_type="dataset",
        )

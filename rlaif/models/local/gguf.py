"""GGUF files → safetensors folders that load like any Hugging Face model.

transformers' GGUF loader de-quantizes the weights to floating point and rebuilds the tokenizer
and chat template from the file's metadata; reading a GGUF that way takes seconds to minutes, so
it is done once and the result saved as safetensors under the models directory. The saved folder
is reloaded and checked to give the same logits as the in-memory model before it is published.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rlaif.errors import RlaifError
from rlaif.models.cache import cache_dir

MODELS_DIR_ENV = "RLAIF_MODELS_DIR"
"""Environment variable naming where converted models are kept (default
``$RLAIF_CACHE_DIR/models``)."""
MANIFEST = "rlaif-model.json"
"""The file a finished conversion writes last; a folder without it is not used."""
CONVERTER_VERSION = 1
"""Bumped when the conversion changes, so older folders are rebuilt."""

_PROBE_TEXT = "The quick brown fox jumps over the lazy dog. 1 + 1 = 2"
Progress = Callable[[str], None]
"""Receives one line per conversion step."""


class ModelSourceError(RlaifError):
    """A model's files are missing, incomplete or fail their checksum."""


def models_dir() -> Path:
    """Where converted models live: ``$RLAIF_MODELS_DIR`` or ``<cache dir>/models``."""
    configured = os.environ.get(MODELS_DIR_ENV)
    return Path(configured).expanduser() if configured else cache_dir() / "models"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_conversion_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a finished conversion, or ``None``."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_converted(folder: Path, source_id: str) -> bool:
    """Whether ``folder`` holds a finished conversion of the source identified by
    ``source_id`` made by this converter version."""
    manifest = read_conversion_manifest(folder)
    return (
        manifest is not None
        and manifest.get("source_id") == source_id
        and manifest.get("converter_version") == CONVERTER_VERSION
    )


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive inter-process lock beside ``folder`` (two processes never convert the same
    model at once; the second waits and then finds it done)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert_once(folder: Path, source_id: str, convert: Callable[[], object]) -> Path:
    """``folder``, after running ``convert`` unless it already holds a finished conversion of
    ``source_id``. The check is made again under :func:`folder_lock`, so that processes started
    together convert once: the others wait, then find it done."""
    if not is_converted(folder, source_id):
        with folder_lock(folder):
            if not is_converted(folder, source_id):
                convert()
    return folder


def convert_gguf(
    gguf_path: Path,
    out_dir: Path,
    *,
    source_id: str,
    dtype: str = "float32",
    progress: Progress | None = None,
    extra_manifest: dict[str, Any] | None = None,
) -> Path:
    """Convert ``gguf_path`` into a safetensors folder at ``out_dir`` (atomically: written
    beside it and renamed into place) and return ``out_dir``. ``source_id`` identifies the
    source (its checksum) in the manifest; ``dtype`` is the stored precision."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    say = progress or (lambda line: None)
    started = time.perf_counter()
    work = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        say(f"reading the tokenizer and chat template from {gguf_path.name}")
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        say(f"de-quantizing the weights to {dtype} (transformers' GGUF loader)")
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=getattr(torch, dtype)
        ).eval()
        _drop_gguf_quantization(model)
        probe = tokenizer(_PROBE_TEXT, return_tensors="pt")
        with torch.inference_mode():
            reference = model(**probe).logits
        say(f"saving {dtype} safetensors")
        model.save_pretrained(work, safe_serialization=True)
        tokenizer.save_pretrained(work)
        say("checking the saved folder holds the same weights and reproduces the logits")
        _check_saved_tensors(model.state_dict(), work)
        del model  # the reload below would otherwise double the memory needed
        gc.collect()
        _check_logits(reference, probe, work, dtype)
        manifest = {
            "source": str(gguf_path),
            "source_id": source_id,
            "dtype": dtype,
            "converter_version": CONVERTER_VERSION,
            "transformers": _transformers_version(),
            "seconds": round(time.perf_counter() - started, 1),
            **(extra_manifest or {}),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"done in {time.perf_counter() - started:.0f} s: {out_dir}")
    return out_dir


def _drop_gguf_quantization(model: Any) -> None:
    """The loader leaves a GGUF quantizer attached although the weights are already plain
    floats; without this ``save_pretrained`` refuses ("not serializable")."""
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    if hasattr(model, "is_quantized"):
        model.is_quantized = False


def _check_saved_tensors(weights: dict[str, Any], folder: Path) -> None:
    """Every tensor in the saved safetensors equals the converted one, bit for bit."""
    import torch
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ModelSourceError(f"{folder}: no safetensors were written")
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open is not a mapping)
                if key not in weights or not torch.equal(handle.get_tensor(key), weights[key]):
                    raise ModelSourceError(f"{file}: tensor {key} differs from the converted one")


def _check_logits(reference: Any, probe: Any, folder: Path, dtype: str) -> None:
    """The saved folder, reloaded in the same precision, gives the converted model's logits
    bit for bit."""
    import torch
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(
        folder, dtype=getattr(torch, dtype), use_safetensors=True
    ).eval()
    with torch.inference_mode():
        actual = reloaded(**probe).logits
    if not torch.equal(reference, actual):
        difference = (reference.float() - actual.float()).abs().max().item()
        raise ModelSourceError(
            f"the converted model in {folder} does not reproduce the logits "
            f"(largest difference {difference:.3g})"
        )


def _transformers_version() -> str:
    import transformers

    return str(transformers.__version__)

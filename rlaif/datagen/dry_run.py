"""``--dry-run`` for ``generate``, ``critique``, ``label`` and ``eval agreement``: the job run
against stand-in answers (see :mod:`rlaif.models.dry_run`) in a scratch copy of its output, so
that what is already done (resumed items, cached calls) is not counted, and nothing of the
user's is touched but the estimate file (``<out>.estimate.json`` beside an output file,
``estimate.json`` in an output folder). A later real run into the same output
reads that file and shows the estimate next to what it spent (:func:`estimate_against_actual`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from rlaif.config.paths import write_json_atomic
from rlaif.data.manifest import read_manifest
from rlaif.errors import RlaifError
from rlaif.models.dry_run import (
    ModelEstimate,
    estimate_against_usage,
    estimate_table,
    estimating,
)

Options = TypeVar("Options", bound=BaseModel)


def estimate_path(out: Path, *, folder: bool = False) -> Path:
    """Where a dry run into ``out`` (an output file, or an output ``folder``) writes its
    estimate."""
    return out / "estimate.json" if folder else out.with_name(f"{out.stem}.estimate.json")


def dry_run(run: Callable[[Options], Any], options: Options) -> tuple[list[ModelEstimate], Path]:
    """Run ``run(options)`` as a dry run; returns the per-model estimate and the file it went
    to. ``options`` must have an ``out`` path; a scratch folder stands in for its folder."""
    fields = type(options).model_fields
    update: dict[str, Any] = {}
    for name, value in (("push_to_hub", None), ("progress", False), ("format", "jsonl")):
        if name in fields:
            update[name] = value

    def into(scratch: Path) -> None:
        run(options.model_copy(update={**update, "out": scratch}))

    return dry_run_into(into, Path(vars(options)["out"]))


def dry_run_into(
    run: Callable[[Path], Any], out: Path, *, folder: bool = False
) -> tuple[list[ModelEstimate], Path]:
    """Run ``run(scratch)`` as a dry run, ``scratch`` standing in for ``out``: a copy of the
    output folder ``out``, or of the file ``out`` and its side files (``<stem>.*``), so that a
    resumed job counts only what is left. Returns the per-model estimate and where it went."""
    with tempfile.TemporaryDirectory(prefix="rlaif-dry-run-") as workspace:
        scratch = Path(workspace) / out.name
        if folder:
            if out.is_dir():
                shutil.copytree(out, scratch)
        elif out.parent.is_dir():
            for existing in out.parent.glob(f"{out.stem}.*"):
                if existing.is_file():
                    shutil.copy2(existing, Path(workspace) / existing.name)
        with estimating() as estimator:
            try:
                run(scratch)
            except RlaifError as error:  # name the user's files, not their scratch copies
                if len(error.args) == 1 and isinstance(error.args[0], str):
                    error.args = (error.args[0].replace(workspace, str(out.parent)),)
                raise
        rows = estimator.finish()
    path = estimate_path(out, folder=folder)
    before = None if folder else read_manifest(out)
    usage = dict(before.usage) if before is not None else {}
    write_json_atomic(path, {"models": estimate_table(rows), "usage_before": usage})
    return rows, path


def estimate_against_actual(out: Path) -> list[str]:
    """Lines comparing the dry run's estimate for ``out`` (if one was made) with what the runs
    since spent: the manifest's ``usage`` now, less the usage it held when the estimate was made
    (calls sent, tokens and dollars)."""
    path = estimate_path(out)
    if not path.is_file():
        return []
    manifest = read_manifest(out)
    usage = dict(manifest.usage) if manifest is not None else {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        rows, before = saved["models"], dict(saved.get("usage_before") or {})
    except (OSError, ValueError, KeyError, TypeError):
        return [f"estimate: {path.name} is unreadable"]
    usage = {key: value - float(before.get(key, 0.0)) for key, value in usage.items()}
    return [estimate_against_usage(rows, usage)]

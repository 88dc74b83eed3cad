"""Exporters: rlaif's prompt, SFT and preference files in the formats other trainers read.

- ``trl``: TRL's standard conversational columns only (``prompt``/``chosen``/``rejected`` plus
  ``margin``, which ``RewardTrainer`` adds to its loss as ``rlaif train rm`` does; ``messages``; or
  ``prompt``), for ``RewardTrainer``/``DPOTrainer``, ``SFTTrainer`` and the online trainers.
- ``openrlhf``: JSONL for OpenRLHF's datasets with ``--apply_chat_template``: preference pairs keep
  the soft label as ``margin`` (its margin loss reads that key), SFT records split into a ``prompt``
  conversation and a ``response`` turn, prompts as conversations.
- ``verl``: Parquet in verl's RL layout (``data_source``, ``prompt``, ``ability``,
  ``reward_model``, ``extra_info``) for prompts, and ``messages`` for its multi-turn SFT dataset.
  verl has no preference-pair trainer, so pairs are refused with a pointer to the others.

Every export reads the whole source first (so a malformed line fails with ``file:line`` before
anything is written), writes to a temporary file and moves it into place. An export never
replaces its own source, nor an rlaif dataset (a file its manifest names): it keeps fewer fields
than either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rlaif.data.jsonl import iter_jsonl, read_records
from rlaif.data.loaders import load_prompts, resolve_prompt_file
from rlaif.data.manifest import manifest_path, read_manifest, same_file
from rlaif.data.records import PreferenceRecord, SFTRecord
from rlaif.errors import ConfigError

Target = Literal["trl", "openrlhf", "verl"]
Kind = Literal["preferences", "sft", "prompts"]
TARGETS: tuple[Target, ...] = ("trl", "openrlhf", "verl")
KINDS: tuple[Kind, ...] = ("preferences", "sft", "prompts")

USAGE: dict[tuple[Target, Kind], str] = {
    ("trl", "preferences"): "RewardTrainer / DPOTrainer: load_dataset('json', data_files=OUT)",
    ("trl", "sft"): "SFTTrainer: load_dataset('json', data_files=OUT) (conversational 'messages')",
    ("trl", "prompts"): "GRPOTrainer / RLOOTrainer: load_dataset('json', data_files=OUT)",
    ("openrlhf", "preferences"): (
        "openrlhf.cli.train_rm / train_dpo --dataset OUT --prompt_key prompt "
        "--chosen_key chosen --rejected_key rejected --apply_chat_template"
    ),
    ("openrlhf", "sft"): (
        "openrlhf.cli.train_sft --dataset OUT --input_key prompt --output_key response "
        "--apply_chat_template"
    ),
    ("openrlhf", "prompts"): (
        "openrlhf.cli.train_ppo_ray --prompt_data OUT --input_key prompt --apply_chat_template"
    ),
    ("verl", "sft"): (
        "verl.trainer.fsdp_sft_trainer data.train_files=OUT data.multiturn.enable=true "
        "data.multiturn.messages_key=messages"
    ),
    ("verl", "prompts"): (
        "verl.trainer.main_ppo data.train_files=OUT data.prompt_key=prompt "
        "(reward_model.style 'model': score with your reward model)"
    ),
}
"""How each exported file is read by its trainer."""


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    out: Path
    """The exported file."""
    target: Target
    """The trainer family it is for."""
    kind: Kind
    """What it holds."""
    rows: int
    """Rows written."""
    usage: str
    """How the trainer reads it."""


def detect_kind(source: str | Path) -> Kind:
    """What a file holds: from its rlaif manifest when there is one, else from its first line."""
    path = Path(source)
    manifest = read_manifest(path) if path.exists() else None
    if manifest is not None and manifest.kind in ("preferences", "sft"):
        return manifest.kind  # type: ignore[return-value]
    if not path.exists():
        resolve_prompt_file(source)  # a built-in prompt set name, or a clear "not found"
        return "prompts"
    for _, row in iter_jsonl(path):
        if "chosen" in row and "rejected" in row:
            return "preferences"
        if "messages" in row:
            return "sft"
        if "prompt" in row:
            return "prompts"
        break
    raise ConfigError(
        f"{path}: cannot tell what it holds (no 'chosen'/'rejected', 'messages' or 'prompt' "
        "in its first line); give --kind"
    )


def _preference_rows(source: Path) -> list[dict[str, Any]]:
    rows = []
    for record in read_records(source, PreferenceRecord):
        row: dict[str, Any] = {
            "prompt": record.prompt,
            "chosen": record.chosen,
            "rejected": record.rejected,
        }
        row["margin"] = record.margin
        rows.append(row)
    return rows


def _sft_rows(source: Path, target: Target) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(read_records(source, SFTRecord)):
        messages = [dict(message) for message in record.messages]
        if target == "openrlhf":
            rows.append({"prompt": messages[:-1], "response": messages[-1:]})
        elif target == "verl":
            rows.append({"messages": messages, "extra_info": {"index": index, "id": record.id}})
        else:
            rows.append({"messages": messages})
    return rows


def _prompt_rows(source: str | Path, target: Target, split: str) -> list[dict[str, Any]]:
    rows = []
    for index, record in enumerate(load_prompts(source)):
        prompt = [dict(message) for message in record.prompt]
        if target == "verl":
            rows.append(
                {
                    "data_source": f"rlaif/{Path(str(source)).stem}",
                    "prompt": prompt,
                    "ability": record.category or "harmlessness",
                    "reward_model": {"style": "model", "ground_truth": ""},
                    "extra_info": {"split": split, "index": index, "id": record.id},
                }
            )
        else:
            rows.append({"prompt": prompt})
    return rows


def check_export_target(source: str | Path, out: Path) -> None:
    """Refuse (:class:`ConfigError`, nothing written) an ``out`` that is the ``source`` itself, or
    an rlaif dataset (a file its manifest names): the export, which keeps fewer fields, would
    replace it."""
    if Path(source).exists() and same_file(source, out):
        raise ConfigError(
            f"--out {out} is the file being exported: an export keeps fewer fields, so it "
            "would replace its own source; choose another --out"
        )
    manifest = read_manifest(out) if out.is_file() else None
    if manifest is not None and manifest.output == out.name:
        raise ConfigError(
            f"--out {out} is an rlaif dataset ({manifest_path(out).name} describes it): an "
            "export would replace it with fewer fields; choose another --out"
        )


def export_dataset(
    source: str | Path,
    out: str | Path,
    *,
    target: Target,
    kind: Kind | None = None,
    split: str = "train",
) -> ExportResult:
    """Write ``source`` (an rlaif prompt, SFT or preference file; prompts may be a built-in set
    name) as ``out`` in ``target``'s format. ``kind`` is detected when not given; ``split`` goes
    into verl's ``extra_info``."""
    if target not in TARGETS:
        raise ConfigError(f"unknown export target {target!r}; targets: {', '.join(TARGETS)}")
    out = Path(out)
    check_export_target(source, out)
    kind = kind or detect_kind(source)
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    if (target, kind) not in USAGE:
        raise ConfigError(
            "verl has no preference-pair trainer: export pairs for trl or openrlhf, or train a "
            "reward model (`rlaif train rm`) and export the prompts for verl"
        )
    if kind == "preferences":
        rows = _preference_rows(Path(source))
    elif kind == "sft":
        rows = _sft_rows(Path(source), target)
    else:
        rows = _prompt_rows(source, target, split)
    if not rows:
        raise ConfigError(f"{source}: nothing to export (no records)")
    parquet = target == "verl" or out.suffix == ".parquet"
    if target == "verl" and out.suffix != ".parquet":
        raise ConfigError(f"verl reads Parquet: name the output *.parquet, not {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    if parquet:
        from datasets import Dataset

        Dataset.from_list(rows).to_parquet(str(partial))
    else:
        with partial.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(partial, out)
    return ExportResult(
        out, target, kind, len(rows), USAGE[(target, kind)].replace("OUT", str(out))
    )

"""Record schemas, append-only resumable writers, manifests, loaders and exporters.

Every stage writes JSONL (one complete record per line) that a rerun resumes; loaders return
:class:`datasets.Dataset` objects in TRL's standard columns.
"""

from rlaif.data.jsonl import DataFileError, JsonlWriter, iter_jsonl, read_records
from rlaif.data.loaders import (
    builtin_prompt_sets,
    load_candidates,
    load_hh_rlhf,
    load_hub_dataset,
    load_pairs,
    load_preferences,
    load_prompts,
    load_sft,
    pair_from_human,
    parse_hh_transcript,
    records_to_dataset,
)
from rlaif.data.manifest import Manifest, manifest_path, read_manifest, side_path
from rlaif.data.records import (
    CandidateRecord,
    PairRecord,
    PreferenceRecord,
    PromptRecord,
    SFTRecord,
    SkippedRecord,
)

__all__ = [
    "CandidateRecord",
    "DataFileError",
    "JsonlWriter",
    "Manifest",
    "PairRecord",
    "PreferenceRecord",
    "PromptRecord",
    "SFTRecord",
    "SkippedRecord",
    "builtin_prompt_sets",
    "iter_jsonl",
    "load_candidates",
    "load_hh_rlhf",
    "load_hub_dataset",
    "load_pairs",
    "load_preferences",
    "load_prompts",
    "load_sft",
    "manifest_path",
    "pair_from_human",
    "parse_hh_transcript",
    "read_manifest",
    "read_records",
    "records_to_dataset",
    "side_path",
]

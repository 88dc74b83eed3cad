"""Record schemas, the one reader of data files, append-only resumable writers, manifests,
loaders and exporters.

Every stage writes JSONL (one complete record per line) that a rerun resumes; every file is read
through :func:`iter_rows` / :func:`read_records`, whose errors (:class:`DataFileError`) name the
file and line. Loaders return validated records, or :class:`datasets.Dataset` objects in TRL's
standard columns.
"""

from rlaif.data.hh_rlhf import load_hh_rlhf, parse_hh_transcript, split_hh_pair
from rlaif.data.human_labels import (
    HumanLabel,
    is_human_labels_file,
    iter_human_labels,
    latest_human_labels,
    read_human_labels,
)
from rlaif.data.jsonl import (
    DataFileError,
    JsonlWriter,
    iter_jsonl,
    iter_rows,
    read_records,
    validate_row,
)
from rlaif.data.loaders import (
    builtin_prompt_sets,
    iter_hub_rows,
    load_candidates,
    load_pairs,
    load_preferences,
    load_prompts,
    load_sft,
    pair_from_human,
    records_to_dataset,
    resolve_prompt_file,
    rows_to_dataset,
)
from rlaif.data.manifest import Manifest, manifest_path, read_manifest, side_path
from rlaif.data.records import (
    CandidateRecord,
    PairRecord,
    PreferenceExample,
    PreferenceRecord,
    PromptExample,
    PromptRecord,
    SFTExample,
    SFTRecord,
    SkippedRecord,
    conversation_from,
)

__all__ = [
    "CandidateRecord",
    "DataFileError",
    "HumanLabel",
    "JsonlWriter",
    "Manifest",
    "PairRecord",
    "PreferenceExample",
    "PreferenceRecord",
    "PromptExample",
    "PromptRecord",
    "SFTExample",
    "SFTRecord",
    "SkippedRecord",
    "builtin_prompt_sets",
    "conversation_from",
    "is_human_labels_file",
    "iter_hub_rows",
    "iter_human_labels",
    "iter_jsonl",
    "iter_rows",
    "latest_human_labels",
    "load_candidates",
    "load_hh_rlhf",
    "load_pairs",
    "load_preferences",
    "load_prompts",
    "load_sft",
    "manifest_path",
    "pair_from_human",
    "parse_hh_transcript",
    "read_human_labels",
    "read_manifest",
    "read_records",
    "records_to_dataset",
    "resolve_prompt_file",
    "rows_to_dataset",
    "side_path",
    "split_hh_pair",
    "validate_row",
]

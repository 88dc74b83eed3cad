"""Local models: the embedded catalog and its GGUF conversion, loading, batched scoring and
generation with shared-prefix reuse, reward-model scoring, and tiny random models for tests.

The ``hf`` provider (:mod:`rlaif.models.providers.hf`) and the trainers (:mod:`rlaif.train`) use
these; nothing here imports torch or transformers at module level.
"""

from rlaif.models.local.batching import MicroBatcher
from rlaif.models.local.catalog import CATALOG, CatalogEntry, is_prepared, offline_parts, prepare
from rlaif.models.local.loading import (
    ModelSource,
    cpu_has_native_bf16,
    load_inference_lm,
    prepare_gguf_file,
    resolve,
    select_device,
    select_dtype,
)
from rlaif.models.local.prefix_generation import (
    common_prefix_length,
    generate_on_shared_prefix,
    worth_sharing,
)
from rlaif.models.local.prefix_scoring import ScoringStats, supports_prefix_reuse
from rlaif.models.local.reward_scorer import RewardScorer, encode_conversation
from rlaif.models.local.scoring import score_batch
from rlaif.models.local.tiny import build_tiny_model, build_tiny_tokenizer

__all__ = [
    "CATALOG",
    "CatalogEntry",
    "MicroBatcher",
    "ModelSource",
    "RewardScorer",
    "ScoringStats",
    "build_tiny_model",
    "build_tiny_tokenizer",
    "common_prefix_length",
    "cpu_has_native_bf16",
    "encode_conversation",
    "generate_on_shared_prefix",
    "is_prepared",
    "load_inference_lm",
    "offline_parts",
    "prepare",
    "prepare_gguf_file",
    "resolve",
    "score_batch",
    "select_device",
    "select_dtype",
    "supports_prefix_reuse",
    "worth_sharing",
]

"""Runs a pipeline YAML stage by stage, with artifacts, manifests and resume.

Stages: critique → sft → sample → label → rm → ppo|dpo|grpo|rloo → eval. Each writes its files to
``runs/<name>/<stage>/`` with a ``manifest.json``; a rerun skips finished stages, resumes an
interrupted one and reruns a stage whose config (or an earlier stage) changed, and all after it.
"""

from rlaif.pipeline.api import make_runner, run_pipeline
from rlaif.pipeline.config import STAGE_ORDER, PipelineConfig, load_pipeline_config
from rlaif.pipeline.context import StageContext, StageResult
from rlaif.pipeline.manifest import StageManifest, read_stage_manifest
from rlaif.pipeline.runner import PipelineRunner, PlannedStage, StageSpec

__all__ = [
    "STAGE_ORDER",
    "PipelineConfig",
    "PipelineRunner",
    "PlannedStage",
    "StageContext",
    "StageManifest",
    "StageResult",
    "StageSpec",
    "load_pipeline_config",
    "make_runner",
    "read_stage_manifest",
    "run_pipeline",
]

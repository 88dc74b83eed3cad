"""``run_pipeline``: load a config, plan, and run (or only describe) the stages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from rlaif.pipeline.config import PipelineConfig, load_pipeline_config
from rlaif.pipeline.registry import STAGES
from rlaif.pipeline.runner import PipelineRunner, PlannedStage, StageSpec
from rlaif.pipeline.stages import validate_training_sections


def make_runner(
    config: str | Path | PipelineConfig,
    *,
    config_dir: Path | None = None,
    stages: Mapping[str, StageSpec] | None = None,
    log: Callable[[str], None] = print,
    capture: bool = False,
) -> PipelineRunner:
    """A runner for a config file (or an already loaded config); ``capture`` sends each stage's
    library output to its ``log.txt``."""
    if isinstance(config, PipelineConfig):
        loaded, folder = config, config_dir or Path.cwd()
    else:
        loaded, folder = load_pipeline_config(config)
    if stages is None:
        validate_training_sections(loaded)
        stages = STAGES
    return PipelineRunner(loaded, folder, stages, log=log, capture=capture)


def run_pipeline(
    config: str | Path | PipelineConfig,
    *,
    from_stage: str | None = None,
    only: str | None = None,
    dry_run: bool = False,
    log: Callable[[str], None] = print,
) -> list[PlannedStage]:
    """Run the pipeline (or, with ``dry_run``, only plan it) and return the plan."""
    runner = make_runner(config, log=log)
    if dry_run:
        return runner.plan(from_stage=from_stage, only=only)
    return runner.run(from_stage=from_stage, only=only)

"""Run a pipeline stage by stage: skip what is up to date, resume what was interrupted, rerun
what changed and everything after it."""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlaif.config import closest
from rlaif.constitution import load_constitution
from rlaif.data.manifest import package_versions
from rlaif.errors import ConfigError, RlaifError
from rlaif.models.registry import output_shaping_options
from rlaif.models.spec import ModelSpec
from rlaif.pipeline.config import STAGE_ORDER, PipelineConfig
from rlaif.pipeline.context import ModelPool, StageContext, StageFunction
from rlaif.pipeline.inputs import MissingInputsError, missing_inputs
from rlaif.pipeline.manifest import (
    ModelUsageEntry,
    StageManifest,
    file_hash,
    git_revision,
    now,
    read_stage_manifest,
    stable_hash,
    write_stage_manifest,
)
from rlaif.runs.terminal import captured_output

LOG_FILE = "log.txt"
"""Where a stage's library output goes (``rlaif run`` without ``--verbose``)."""


class StageFailed(RlaifError):
    """A stage raised; the message names the stage, the error and the stage's log."""


@dataclass(frozen=True)
class StageSpec:
    """How the runner treats one stage."""

    run: StageFunction
    """The stage function."""
    roles: tuple[str, ...] = ()
    """Model roles whose identity shapes the stage's output (``policy``, ``critic``, ``judge``)."""
    uses_constitution: bool = False
    """Whether the constitution's content shapes the output."""
    prompt_sets: tuple[str, ...] = ()
    """Prompt sets (``train``, ``test``, ``benign``) the stage reads."""
    active: Callable[[PipelineConfig], bool] = lambda config: True
    """Whether the stage runs under this config (beyond its ``enabled`` flag)."""
    estimate: Callable[[StageContext, Mapping[str, int]], dict[str, int]] = (
        lambda context, prompt_counts: {}
    )
    """Model calls per role the stage will make, for ``--dry-run``: called with the stage's
    :class:`StageContext` (config, constitution, models) and the prompts in each set."""
    extra_inputs: Callable[[PipelineConfig], Any] = lambda config: None
    """Settings outside the stage's own section that shape its output (hashed with it)."""


@dataclass
class PlannedStage:
    """A stage in the plan, with its hash and what the runner will do with it."""

    name: str
    config_hash: str
    action: str
    """``skip`` (up to date), ``resume``, ``run``, or ``rerun``."""
    reason: str
    estimated_calls: dict[str, int] = field(default_factory=dict)


class PipelineRunner:
    """Plans and runs the stages of one pipeline config."""

    def __init__(
        self,
        config: PipelineConfig,
        config_dir: Path,
        stages: Mapping[str, StageSpec],
        *,
        log: Callable[[str], None] = print,
        capture: bool = False,
    ):
        self.config = config
        self.config_dir = config_dir
        self.stages = stages
        self.log = log
        self.run_dir = Path(config.output_dir) / config.name
        self.models = ModelPool()
        self.capture = capture
        """Send each stage's library output (progress bars, warnings, TRL's printed dicts) to
        ``<stage>/log.txt`` and keep only the run's own displays on the terminal."""
        self._prompt_counts: dict[str, int] | None = None

    def active_stages(self) -> list[str]:
        """Stages this config runs, in order."""
        names = []
        for name in STAGE_ORDER:
            settings = getattr(self.config.stages, name)
            if settings.enabled and name in self.stages and self.stages[name].active(self.config):
                names.append(name)
        return names

    def context(self, stage: str) -> StageContext:
        """What the stage function of ``stage`` receives (``plan`` for planning: no stage)."""
        return StageContext(self.config, self.config_dir, self.run_dir, stage, self.models)

    def _prompt_file_hashes(self, sets: tuple[str, ...]) -> dict[str, str]:
        context = self.context("plan")
        paths = {s: getattr(self.config.prompts, s) for s in sets}
        return {s: file_hash(context.input_path(p)) for s, p in paths.items() if p is not None}

    def stage_hash(self, name: str, upstream_hash: str | None) -> str:
        """Hash of everything the stage's output depends on, chained to the stage before."""
        spec = self.stages[name]
        roles = {}
        for role in spec.roles:  # what shapes the answers; timeouts, concurrency etc. do not
            model: ModelSpec = getattr(self.config.models, role)
            fields = model.model_dump(mode="json", exclude=set(ModelSpec.runtime_only_fields()))
            fields["options"] = output_shaping_options(model.name, model.options)
            roles[role] = fields
        payload: dict[str, Any] = {
            "stage": name,
            "settings": getattr(self.config.stages, name).model_dump(mode="json"),
            "roles": roles,
            "seed": self.config.seed,
            "prompts": self._prompt_file_hashes(spec.prompt_sets),
            "upstream": upstream_hash,
            "extra": spec.extra_inputs(self.config),
        }
        if spec.uses_constitution:
            context = self.context(name)
            payload["constitution"] = context.constitution.content_hash()
            helpfulness = load_constitution(context.resolve_helpfulness_constitution())
            payload["helpfulness_constitution"] = helpfulness.content_hash()
        return stable_hash(payload)

    def plan(self, *, from_stage: str | None = None, only: str | None = None) -> list[PlannedStage]:
        """What will happen to each active stage."""
        active = self.active_stages()
        self.check_stage(from_stage, "from_stage")
        self.check_stage(only, "only")
        self.check_inputs(active)
        planned: list[PlannedStage] = []
        upstream: str | None = None
        forced = False
        for name in active:
            digest = self.stage_hash(name, upstream)
            upstream = digest
            manifest = read_stage_manifest(self.run_dir / name)
            forced = forced or name in (from_stage, only)
            if only is not None and name != only:
                action, reason = "skip", "not selected (--only)"
            elif forced:
                action, reason = "rerun", "requested"
            elif manifest is None:
                action, reason = "run", "not run yet"
            elif manifest.config_hash != digest:
                action, reason = "rerun", "its config or an earlier stage changed"
            elif manifest.status != "complete":
                action, reason = "resume", "interrupted"
            else:
                action, reason = "skip", "up to date"
            upstream_reruns = any(p.action in ("run", "rerun") for p in planned)
            if upstream_reruns and action == "skip" and only is None:
                action, reason = "rerun", "an earlier stage reruns"
            calls = (
                {}
                if action == "skip"
                else self.stages[name].estimate(self.context(name), self.prompt_counts())
            )
            planned.append(PlannedStage(name, digest, action, reason, calls))
        return planned

    def check_stage(self, name: str | None, option: str) -> None:
        """A :class:`ConfigError` beginning with ``option`` (such as ``--from``) unless ``name``
        is ``None`` or a stage this config runs. Nothing is imported or loaded, so a command line
        is checked before the training stack is."""
        active = self.active_stages()
        if name is None or name in active:
            return
        hint = closest(name, active)
        raise ConfigError(
            f"{option}: stage {name!r} is not part of this run"
            f"{f' (did you mean {hint!r}?)' if hint else ''}; stages: {', '.join(active)}"
        )

    def check_inputs(self, active: list[str]) -> None:
        """Raise :class:`~rlaif.pipeline.inputs.MissingInputsError` listing every input of the
        ``active`` stages (prompt sets, human-labelled data, gate data, accelerate configs) that
        is not there, before any stage is planned or run."""
        missing = missing_inputs(self.context("plan"), active)
        if missing:
            raise MissingInputsError(missing)

    def prompt_counts(self) -> dict[str, int]:
        """Prompts in each configured prompt set (lines of the JSONL files)."""
        if self._prompt_counts is None:
            context = self.context("plan")
            counts = {}
            for name in ("train", "test", "benign", "helpful"):
                relative = getattr(self.config.prompts, name)
                if relative is None:
                    continue
                path = context.input_path(relative)
                with path.open(encoding="utf-8") as handle:
                    counts[name] = sum(1 for line in handle if line.strip())
            self._prompt_counts = counts
        return self._prompt_counts

    def _check_upstream(self, plan: list[PlannedStage]) -> None:
        for index, stage in enumerate(plan):
            if stage.action == "skip":
                continue
            for earlier in plan[:index]:
                manifest = read_stage_manifest(self.run_dir / earlier.name)
                if earlier.action == "skip" and (
                    manifest is None
                    or manifest.status != "complete"
                    or manifest.config_hash != earlier.config_hash
                ):
                    raise ConfigError(
                        f"stage {stage.name!r} needs {earlier.name!r}, which is not up to date; "
                        f"run without --only/--from first"
                    )

    def run(self, *, from_stage: str | None = None, only: str | None = None) -> list[PlannedStage]:
        """Run the plan; returns it with the actions taken."""
        plan = self.plan(from_stage=from_stage, only=only)
        self._check_upstream(plan)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for stage in plan:
            if stage.action == "skip":
                self.log(f"[{stage.name}] skipped: {stage.reason}")
                continue
            self._run_stage(stage)
        return plan

    def _run_stage(self, stage: PlannedStage) -> None:
        stage_dir = self.run_dir / stage.name
        if stage.action == "rerun" and stage_dir.exists():
            shutil.rmtree(stage_dir)
        previous = read_stage_manifest(stage_dir)
        manifest = StageManifest(
            stage=stage.name,
            config_hash=stage.config_hash,
            started_at=previous.started_at if previous else now(),
            git_revision=git_revision(),
            packages=package_versions(),
        )
        write_stage_manifest(stage_dir, manifest)
        log_file = stage_dir / LOG_FILE
        where = f" (library output: {log_file})" if self.capture else ""
        self.log(f"[{stage.name}] {stage.action}: {stage.reason}{where}")
        before = self._usage_snapshot()
        start = time.perf_counter()
        if self.capture:
            result = self._run_captured(stage.name, log_file)
        else:
            result = self.stages[stage.name].run(self.context(stage.name))
        manifest.seconds = round(time.perf_counter() - start, 2)
        manifest.model_usage = self._usage_since(before)
        manifest.outputs = result.outputs
        manifest.metrics = result.metrics
        manifest.notes = result.notes
        manifest.status = "complete"
        manifest.finished_at = now()
        write_stage_manifest(stage_dir, manifest)
        self.log(f"[{stage.name}] complete in {manifest.seconds:.1f} s")

    def _run_captured(self, name: str, log_file: Path) -> Any:
        """Run a stage with its library output in ``log_file``; a failure becomes one line
        naming the stage and the log, with the traceback in the log."""
        with captured_output(log_file):
            try:
                return self.stages[name].run(self.context(name))
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as error:
                traceback.print_exc()  # into the log
                message = str(error).splitlines()[0] if str(error) else type(error).__name__
                if not isinstance(error, RlaifError):
                    message = f"{type(error).__name__}: {message}"
                failure = StageFailed(f"stage {name!r} failed: {message} (full log: {log_file})")
        raise failure from None

    def _usage_snapshot(self) -> dict[str, ModelUsageEntry]:
        snapshot = {}
        for model in self.models.all():
            usage = model.usage
            snapshot[model.name] = ModelUsageEntry(
                calls=usage.calls,
                cache_hits=usage.cache_hits,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=usage.cost_usd,
            )
        return snapshot

    def _usage_since(self, before: dict[str, ModelUsageEntry]) -> dict[str, ModelUsageEntry]:
        after = self._usage_snapshot()
        usage = {}
        for name, totals in after.items():
            start = before.get(name, ModelUsageEntry())
            delta = ModelUsageEntry(
                calls=totals.calls - start.calls,
                cache_hits=totals.cache_hits - start.cache_hits,
                input_tokens=totals.input_tokens - start.input_tokens,
                output_tokens=totals.output_tokens - start.output_tokens,
                cost_usd=round(totals.cost_usd - start.cost_usd, 6),
            )
            if delta.calls or delta.cache_hits:
                usage[name] = delta
        return usage

"""What a stage function receives: its folder, the config, shared models and upstream outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlaif.constitution import Constitution, library, load_constitution
from rlaif.errors import ConfigError
from rlaif.eval.loaders import locate_labelled_data
from rlaif.models.model import Model, ModelSpec, get_model
from rlaif.pipeline.config import PipelineConfig
from rlaif.pipeline.manifest import StageManifest, read_stage_manifest, stable_hash


class ModelPool:
    """One :class:`Model` per distinct spec, so a critic and a judge that are the same model are
    loaded once."""

    def __init__(self) -> None:
        self._models: dict[str, Model] = {}

    def get(self, spec: ModelSpec) -> Model:
        """The shared model for ``spec``."""
        key = stable_hash(spec.model_dump(mode="json"))
        if key not in self._models:
            self._models[key] = get_model(spec)
        return self._models[key]

    def all(self) -> list[Model]:
        """Every model created so far."""
        return list(self._models.values())


@dataclass
class StageResult:
    """What a stage reports back to the runner."""

    outputs: dict[str, str] = field(default_factory=dict)
    """Output files, relative to the stage folder."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """Headline numbers."""
    notes: list[str] = field(default_factory=list)
    """Anything a reader should know."""


@dataclass
class StageContext:
    """Everything a stage function needs."""

    config: PipelineConfig
    config_dir: Path
    run_dir: Path
    stage: str
    models: ModelPool
    _constitution: Constitution | None = None

    @property
    def stage_dir(self) -> Path:
        """This stage's artifact folder."""
        return self.run_dir / self.stage

    @property
    def constitution(self) -> Constitution:
        """The run's constitution (loaded once)."""
        if self._constitution is None:
            self._constitution = load_constitution(self.resolve_constitution())
        return self._constitution

    def resolve_constitution(self, name: str | None = None) -> str | Path:
        """Built-in name, or the path relative to the config file, of ``name`` (default: the
        run's constitution)."""
        name = self.config.constitution if name is None else name
        if name in library.builtin_constitution_files():
            return name
        return self.config_dir / name

    def resolve_helpfulness_constitution(self) -> str | Path:
        """The helpfulness constitution (``helpfulness_constitution``), resolved."""
        return self.resolve_constitution(self.config.helpfulness_constitution)

    def input_path(self, relative: str) -> Path:
        """Resolve a path from the config: relative to the config file, else to the working
        directory, else (``eval/...``) to the built-in library; a path that leaves the library
        (``../...``) is never looked up beside it."""
        root = library.library_root().resolve()
        built_in = (root / relative).resolve()
        candidates = [self.config_dir / relative, Path(relative)]
        if built_in.is_relative_to(root):
            candidates.append(built_in)
        for candidate in candidates:
            if candidate.exists():
                return candidate
        raise ConfigError(f"{relative!r} not found (looked beside the config, here and built-in)")

    def labelled_data(self, data: str | None) -> str | None:
        """Human-labelled pairs named by the config (a built-in suite name such as
        ``hh-harmless``, a suite YAML, a pair file beside the config or here, ``hf:owner/name``)
        as :func:`~rlaif.eval.load_labelled_pairs` takes them; ``None`` when the config gives
        none. A missing file raises :class:`~rlaif.data.DataFileError`."""
        if data is None:
            return None
        return locate_labelled_data(data, relative_to=self.config_dir)

    def upstream(self, stage: str) -> StageManifest:
        """The complete manifest of an earlier stage."""
        manifest = read_stage_manifest(self.run_dir / stage)
        if manifest is None or manifest.status != "complete":
            raise ConfigError(f"stage {stage!r} has not completed; run it first")
        return manifest

    def upstream_output(self, stage: str, key: str) -> Path:
        """Path of an output of an earlier stage."""
        manifest = self.upstream(stage)
        if key not in manifest.outputs:
            raise ConfigError(f"stage {stage!r} has no output {key!r}")
        return self.run_dir / stage / manifest.outputs[key]

    def has_output(self, stage: str, key: str) -> bool:
        """Whether an earlier stage completed and produced ``key``."""
        manifest = read_stage_manifest(self.run_dir / stage)
        return bool(manifest and manifest.status == "complete" and key in manifest.outputs)


StageFunction = Callable[[StageContext], StageResult]
"""A stage: reads upstream outputs, writes into ``ctx.stage_dir``, returns a result."""

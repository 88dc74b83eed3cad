"""Run judges on human-labelled pairs and measure their agreement (``rlaif eval agreement``).

Each (judge, mode) is one leaderboard row. Judgments are appended to
``OUT/judgments/<judge>.jsonl`` a chunk at a time, so a killed run resumes where it stopped and
never asks the judge twice about a pair (the model cache also covers repeated calls).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rlaif.constitution import load_constitution
from rlaif.data.records import PairRecord
from rlaif.errors import RlaifError
from rlaif.eval.agreement.metrics import agreement_metrics
from rlaif.eval.agreement.predictions import (
    PairFrame,
    Predictions,
    ShownPair,
    assign_positions,
    predictions_from_judgments,
)
from rlaif.eval.agreement.principles import principle_agreement
from rlaif.eval.agreement.results import AgreementMetrics
from rlaif.eval.bootstrap import DEFAULT_RESAMPLES
from rlaif.eval.loaders import LoadedPairs, load_labelled_pairs
from rlaif.eval.report import write_metrics, write_report
from rlaif.judge import PairwiseJudge
from rlaif.judge.calibration import calibrate_judgment, estimate_position_prior
from rlaif.judge.judgment import Judgment
from rlaif.judge.modes import JUDGE_MODES, Mode
from rlaif.judge.settings import JudgeSettings
from rlaif.models import Model, blocking
from rlaif.models.registry import check_credentials
from rlaif.runs import open_model, run_keyed
from rlaif.runs.terminal import announce

CHUNK_SIZE = 16
"""Pairs judged between two appends to the judgments file (what a killed run can lose)."""


class PairJudge(Protocol):
    """What the runner needs from a judge (``rlaif.judge.PairwiseJudge`` provides it)."""

    async def compare_many(
        self, pairs: Sequence[Any], *, concurrency: int = 8, progress: bool = True
    ) -> list[Judgment]:
        """Judge each pair (id, prompt, response_1, response_2)."""
        ...


@dataclass
class JudgeSpec:
    """One judge to measure: model name, verdict mode and model options."""

    model: str
    mode: Mode = "auto"
    """``auto``, ``logprob``, ``generate``, ``cot`` or ``pointwise``."""
    options: dict[str, Any] = field(default_factory=dict)
    """Model options (``base_url``, ``api_key_env``, prices, backend options)."""
    label: str | None = None
    """Leaderboard name; default ``model [mode]``."""
    constitution: str = "cai-harmless"
    """Constitution (built-in name or YAML path) whose compare template and principles the
    judge uses."""
    seed: int = 0
    """Seed of the judge's principle sampling and framing."""
    principles_per_pair: int | None = None
    """Principles asked about per pair (default: the constitution's ``sampling.per_example``)."""

    @property
    def name(self) -> str:
        """The leaderboard name."""
        named = f"{self.model} [{self.mode}]" if self.mode in JUDGE_MODES else self.model
        return self.label or named

    @property
    def slug(self) -> str:
        """A file-name-safe form of :attr:`name`."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("_")


@dataclass
class AgreementSettings:
    """Everything besides the judges that determines an agreement run."""

    data: str
    """Pairs: a file, a suite (built-in name or YAML path) or ``hf:owner/name``."""
    limit: int | None = None
    """Measure a seeded random subset of this many pairs (``None``: all)."""
    seed: int = 0
    """Seed of the subset, of which reply is shown as response 1, and of the bootstrap."""
    concurrency: int = 8
    """Judge requests in flight."""
    n_resamples: int = DEFAULT_RESAMPLES
    """Bootstrap resamples per interval."""
    data_dir: str | None = None
    """Hub data dir (``hf:`` sources)."""
    split: str | None = None
    """Hub split (``hf:`` sources; default ``test``)."""


JudgeFactory = Callable[[JudgeSpec, Model], PairJudge]


def build_pairwise_judge(spec: JudgeSpec, model: Model) -> PairJudge:
    """The project's :class:`rlaif.judge.PairwiseJudge` for ``spec`` (both orders)."""

    constitution = load_constitution(spec.constitution)
    settings = JudgeSettings(mode=spec.mode, principles_per_pair=spec.principles_per_pair)
    judge: PairJudge = PairwiseJudge.from_settings(model, constitution, settings, seed=spec.seed)
    return judge


def _fingerprint(shown: Sequence[ShownPair]) -> str:
    digest = hashlib.sha256()
    for s in shown:
        digest.update(f"{s.pair.id}\0{int(s.chosen_is_1)}\n".encode())
    return digest.hexdigest()[:16]


async def judge_records(
    judge: PairJudge,
    records: Sequence[PairRecord],
    path: Path,
    *,
    concurrency: int,
    progress_label: str,
    tags: dict[str, str] | None = None,
) -> tuple[list[Judgment], float]:
    """Judge every pair not yet stored in ``path`` (or stored with another ``tag``: its inputs
    changed), appending results chunk by chunk so a killed run loses at most one chunk.

    Returns the judgments of all records, in order, and their wall seconds (from the per-line
    timings, so resumed runs count earlier work too)."""

    async def judge_chunk(chunk: Sequence[PairRecord]) -> list[dict[str, Any]]:
        results = await judge.compare_many(chunk, concurrency=concurrency, progress=False)
        return [{"judgment": j.model_dump(mode="json")} for j in results]

    store = await run_keyed(
        records,
        judge_chunk,
        path,
        tags=tags,
        label=progress_label,
        chunk_size=CHUNK_SIZE,
        redo=_call_failed,
    )
    rows = [store.rows[r.id] for r in records]
    judgments = [Judgment.model_validate(row["judgment"]) for row in rows]
    return judgments, sum(float(row.get("wall_s", 0.0)) for row in rows)


def shown_tag(shown: ShownPair) -> str:
    """What a stored judgment of a pair depends on besides its id: which reply was shown as
    response 1. For pairs labelled in a labels file it also names the majority's response, since
    a new label can turn the majority while the shown position of ``chosen`` stays the same."""
    tag = f"chosen_is_1={shown.chosen_is_1}"
    preferred = shown.pair.metadata.get("human_preferred")
    return tag if preferred is None else f"{tag};human_preferred={preferred}"


def _call_failed(row: dict[str, Any]) -> bool:
    """Whether a stored judgment is missing because a call failed (asked again on a rerun)."""
    return Judgment.model_validate(row["judgment"]).call_failed


def shown_records(shown: Sequence[ShownPair]) -> list[PairRecord]:
    """The pairs as the judge sees them (response 1 and 2 in their assigned positions)."""
    return [
        PairRecord(
            id=s.pair.id, prompt=s.pair.prompt, response_1=s.response_1, response_2=s.response_2
        )
        for s in shown
    ]


@dataclass
class AgreementRun:
    """The result of :func:`run_agreement`: metrics (``metrics.json`` is their JSON dump) and
    the judgments per judge."""

    metrics: AgreementMetrics
    judgments: dict[str, list[Judgment]]
    out: Path | None = None


async def run_agreement_async(
    specs: Sequence[JudgeSpec],
    settings: AgreementSettings,
    *,
    out: str | Path | None = None,
    judge_factory: JudgeFactory = build_pairwise_judge,
    loaded: LoadedPairs | None = None,
    report: bool = True,
    models: Mapping[str, Model] | None = None,
) -> AgreementRun:
    """Judge the pairs with every spec, compute metrics and baselines, write judgments and
    (unless ``report`` is false) the report to ``out`` when given, and return the run.

    ``models`` maps model names to already loaded models to use (and leave open) instead of
    loading them again; specs with options of their own always get a fresh model. ``loaded``
    gives pairs already loaded instead of reading ``settings.data`` (your own labels:
    :func:`~rlaif.eval.agreement.humans.human_labelled_pairs`, whose inter-annotator agreement
    goes into the metrics' ``human``)."""
    if not specs:
        raise RlaifError("give at least one judge (--judge provider/model)")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise RlaifError(f"judge names must be distinct: {names}")
    for spec in specs:  # every judge's key, before the first one judges (and loads data)
        if spec.options or spec.model not in (models or {}):
            check_credentials(spec.model, spec.options)
    loaded = loaded or load_labelled_pairs(
        settings.data,
        data_dir=settings.data_dir,
        split=settings.split,
        limit=settings.limit,
        seed=settings.seed,
    )
    shown = assign_positions(loaded.pairs, settings.seed)
    frame = PairFrame.from_shown(shown)
    folder = Path(out) if out is not None else None
    if folder is not None:
        _check_run_manifest(folder, settings, shown)
    scratch = folder or Path(_temporary_folder())
    records = shown_records(shown)
    judgments: dict[str, list[Judgment]] = {}
    predictions: list[Predictions] = []
    priors: dict[str, float] = {}
    judged: dict[str, list[Judgment]] = {}  # per row, calibrated rows included
    given = dict(models or {})
    opened: dict[str, Model] = {}  # one model per name and options, shared by its modes
    async with AsyncExitStack() as owned:
        for spec in specs:
            key = f"{spec.model}\0{sorted(spec.options.items())!r}"
            model = given.get(spec.model) if not spec.options else None
            if model is None:
                if key not in opened:
                    opened[key] = await open_model(owned, None, spec.model, **spec.options)
                model = opened[key]
            judge = judge_factory(spec, model)
            if isinstance(judge, PairwiseJudge):
                announce(judge.describe())
            results, wall = await judge_records(
                judge,
                records,
                scratch / "judgments" / f"{spec.slug}.jsonl",
                concurrency=settings.concurrency,
                progress_label=f"judging with {spec.name}",
                tags={s.pair.id: shown_tag(s) for s in shown},
            )
            judgments[spec.name] = judged[spec.name] = results
            predictions.append(
                predictions_from_judgments(spec.name, results, frame.ids, wall_seconds=wall)
            )
            calibrated = position_calibrated(spec.name, results, frame.ids, wall)
            if calibrated is not None:
                preds, prior, corrected = calibrated
                predictions.append(preds)
                priors[preds.name] = prior
                judged[preds.name] = corrected
    boot = {"seed": settings.seed, "n_resamples": settings.n_resamples}
    metrics = agreement_metrics(frame, predictions, **boot)
    for name, prior in priors.items():
        metrics.results[name].position_prior_logit = prior
    for name, rows in judged.items():
        metrics.results[name].by_principle = principle_agreement(frame, rows, **boot)
    metrics.data = loaded.describe()
    metrics.human = loaded.human
    metrics.settings = {
        "limit": settings.limit,
        "seed": settings.seed,
        "judges": [
            {"name": s.name, "model": s.model, "mode": s.mode, "constitution": s.constitution}
            for s in specs
        ],
        "pair_ids_sha256": _fingerprint(shown),
    }
    if folder is not None:
        (write_report if report else write_metrics)(folder, metrics)
    return AgreementRun(metrics=metrics, judgments=judgments, out=folder)


CALIBRATED_SUFFIX = " (position-calibrated)"
"""Appended to a judge's name for its row after :mod:`rlaif.judge.calibration`."""


def position_calibrated(
    name: str, results: Sequence[Judgment], ids: Sequence[str], wall: float | None
) -> tuple[Predictions, float, list[Judgment]] | None:
    """The judge's predictions after removing its first-position prior, estimated from these
    judgments' swapped orders (no label is used), that prior and the recombined judgments;
    ``None`` for judges with no soft two-order verdicts (pointwise, or hard ``generate``/``cot``
    answers)."""
    prior = estimate_position_prior(results)
    if prior is None:
        return None
    corrected = [calibrate_judgment(j, prior) for j in results]
    return (
        predictions_from_judgments(name + CALIBRATED_SUFFIX, corrected, ids, wall_seconds=wall),
        prior,
        corrected,
    )


run_agreement = blocking(run_agreement_async)


def _temporary_folder() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="rlaif-agreement-")


def _check_run_manifest(folder: Path, settings: AgreementSettings, shown: Sequence[ShownPair]):
    """Refuse to mix judgments of different pair sets or orders in one folder."""
    manifest = folder / "run.json"
    current = {
        "data": settings.data,
        "seed": settings.seed,
        "limit": settings.limit,
        "pairs": _fingerprint(shown),
    }
    if manifest.is_file():
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        if previous.get("pairs") != current["pairs"]:
            raise RlaifError(
                f"{folder} holds a run on other pairs or another order "
                f"(data {previous.get('data')}, seed {previous.get('seed')}, limit "
                f"{previous.get('limit')}); use a new --out folder"
            )
    folder.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")

"""The one skeleton every resumable dataset job follows (``rlaif generate``, ``critique`` and
``label``): check that the output is new or an earlier output of this kind of job (its manifest
says so; anything else is refused and left untouched) and may be resumed with these settings,
write its manifest, remove (with a warning) a last line a killed run cut short, run the units not
yet done in input order behind a progress bar, then record counts, side files and the usage in
the manifest. Models in batch mode defer their calls; the job then settles their batches
(``<out>.batch.json``, :mod:`rlaif.models.batch`) and runs the pending units again, until a pass
defers nothing. Every model call is journalled as it completes (``<out>.usage.jsonl``,
:mod:`.journal`), so the manifest counts the calls of killed runs too.

    job = ResumableJob(out, "candidates", description="generate", progress=True)
    already = await job.run(units, work, settings=settings, concurrency=8, policy=name)
    summary = job.summary(units=len(units))
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rlaif.data.manifest import (
    Manifest,
    check_owned_output,
    check_resumable,
    manifest_path,
    side_path,
    write_manifest,
)
from rlaif.data.records import FAILED, UNFINISHED
from rlaif.models.batch import batch_scope, settle_batches
from rlaif.models.usage import observe_usage
from rlaif.runs.journal import UsageJournal, manifest_usage
from rlaif.runs.progress import RunProgress
from rlaif.runs.sink import Sink, count_key
from rlaif.runs.tally import RunTally
from rlaif.runs.terminal import announce, report_repair
from rlaif.runs.units import Unit, Worker, run_units


class RunSummary(BaseModel):
    """What a resumable job did."""

    out: Path
    """The output file."""
    manifest: Path
    """Its manifest."""
    counts: dict[str, int]
    """Records and skipped items (by reason), over every run into ``out``."""
    units: int
    """Units of work (prompts or pairs) in the input."""
    already_done: int
    """Units finished by an earlier run and not redone."""
    calls: int
    """Model calls this run (cache hits included)."""
    cache_hits: int
    """Calls served from the response cache."""
    parquet: Path | None = None
    """The Parquet copy, when asked for."""
    this_run: dict[str, int] = {}
    """What this run wrote: ``records`` and skips by category (``skipped: failed``, ...)."""
    retried: int = 0
    """Items an earlier run skipped because a call failed, tried again by this run."""
    first_failure: str | None = None
    """This run's first reason for skipping an item because a call failed or a verdict was
    missing."""

    @property
    def all_failed(self) -> bool:
        """Whether this run wrote something and all of it is failed calls or missing verdicts
        (the command then exits non-zero)."""
        written = sum(self.this_run.values())
        unfinished = sum(self.this_run.get(count_key(category), 0) for category in UNFINISHED)
        return written > 0 and unfinished == written


def begin_manifest(out: Path, kind: str, settings: dict[str, Any], **fields: Any) -> Manifest:
    """Check that ``out`` may be resumed with ``settings`` and write its manifest; returns it."""
    existing = check_resumable(out, settings)
    manifest = Manifest(output=out.name, kind=kind, settings=settings, **fields)
    if existing is not None:
        manifest.created = existing.created
        manifest.usage = dict(existing.usage)
        manifest.counts = dict(existing.counts)
    write_manifest(manifest, out)
    return manifest


def end_manifest(manifest: Manifest, sink: Sink, tally: RunTally, journal: UsageJournal) -> Path:
    """Record counts, side files and the usage of every run into the output (the journal's
    totals, killed runs included) in the manifest."""
    manifest.counts = sink.counts()
    manifest.files = {**sink.files(), "usage": journal.path.name}
    usage = manifest.usage = manifest_usage(journal.totals())
    if tally.consistency_rate is not None:
        usage["consistency_rate_last_run"] = round(tally.consistency_rate, 4)
    write_manifest(manifest, sink.out)
    return manifest_path(sink.out)


class ResumableJob:
    """One run into ``out``. Create it first (its :attr:`progress` is what the workers count
    into), read the input into units, then :meth:`run` them; nothing is written before
    :meth:`run`, so an input error leaves no half-made output.

    Creating it checks that ``out`` is new or an earlier output of ``kind``
    (:func:`~rlaif.data.manifest.check_owned_output`; ``copies``: other files the job writes,
    such as a Parquet copy), so that someone else's file is refused before any model loads.
    """

    def __init__(
        self,
        out: Path,
        kind: str,
        *,
        description: str,
        progress: bool = True,
        judgments: bool = True,
        retry: Collection[str] = (FAILED,),
        copies: Sequence[Path] = (),
    ):
        check_owned_output(out, kind, copies=copies)
        self.out = out
        self.kind = kind
        self.judgments = judgments
        self.retry = retry
        """Skip categories an earlier run left that this run tries again (failed calls; with
        ``--retry-failed`` missing verdicts too)."""
        self.sink: Sink | None = None
        self.progress = RunProgress(0, description, enabled=progress)
        self.manifest: Manifest | None = None
        self.manifest_file: Path | None = None
        self.already_done = 0

    @property
    def tally(self) -> RunTally:
        """What this run has counted so far."""
        return self.progress.tally

    async def run(
        self,
        units: Sequence[Unit],
        work: Worker,
        *,
        settings: dict[str, Any],
        concurrency: int,
        start_line: str | None = None,
        **manifest_fields: Any,
    ) -> int:
        """Write the manifest (refusing other settings than the output's), print
        ``start_line`` (what the job is about to do), run the pending units, record the
        outcome; returns how many units an earlier run had finished."""
        self.manifest = begin_manifest(self.out, self.kind, settings, **manifest_fields)
        if start_line:
            announce(start_line)
        self.progress.total = len(units)
        sink = self.sink = Sink(self.out, judgments=self.judgments, retry=self.retry)
        journal = UsageJournal(self.out)
        journal.open(carried=self.manifest.usage)
        for path, removed in (*sink.repaired(), (journal.path, journal.repaired)):
            report_repair(path, removed)
        try:
            with self.progress, observe_usage(journal.record), batch_scope() as queues:
                self.already_done = await run_units(
                    units, work, sink, concurrency=concurrency, bar=self.progress
                )
                rounds = 0
                batches = side_path(self.out, "batch.json")
                # A settled batch's cost reaches the tally and the journal as usage events.
                while await settle_batches(batches, queues, rounds) is not None:
                    rounds += 1  # answers are in the cache now: this pass writes them
                    self.progress.restart()
                    await run_units(units, work, sink, concurrency=concurrency, bar=self.progress)
            self.manifest_file = end_manifest(self.manifest, sink, self.tally, journal)
        finally:
            sink.close()
            journal.close()
        return self.already_done

    def summary(self, *, units: int, parquet: Path | None = None) -> RunSummary:
        """The :class:`RunSummary` of a finished :meth:`run`."""
        if self.manifest is None or self.manifest_file is None or self.sink is None:
            raise RuntimeError("ResumableJob.summary() before run() finished")
        return RunSummary(
            out=self.out,
            manifest=self.manifest_file,
            counts=self.manifest.counts,
            units=units,
            already_done=self.already_done,
            calls=self.tally.calls,
            cache_hits=self.tally.cache_hits,
            parquet=parquet,
            this_run=dict(self.sink.emitted),
            retried=len(self.sink.retried),
            first_failure=self.sink.first_failure,
        )

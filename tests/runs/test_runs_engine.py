"""The job engine: input order under concurrency, resume, refused settings, usage summed over
runs, nothing written before the run starts, the result store, the keyed evaluation loop, and the blocking wrappers inside
a running event loop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rlaif.data.manifest import SettingsMismatchError, read_manifest
from rlaif.data.records import PromptRecord, SkippedRecord
from rlaif.datagen import GenerateOptions, run_generate
from rlaif.judge.sampling import SamplingSettings
from rlaif.models import get_model
from rlaif.models.usage import Usage, report_usage
from rlaif.runs import Outputs, ResultStore, ResumableJob, Unit, run_keyed


def _units(count: int) -> list[Unit]:
    return [Unit([f"u{i}"], i) for i in range(count)]


async def _slow_first(unit: Unit) -> Outputs:
    """Unit 0 finishes last, so results arrive out of order."""
    await asyncio.sleep(0.05 if unit.payload == 0 else 0.001 * unit.payload)
    # One model call per unit, journalled as it happens: unit 0's from the cache.
    first = unit.payload == 0
    report_usage("fake/unit", Usage(calls=int(not first), cache_hits=int(first), cost_usd=0.1))
    record = PromptRecord(id=f"u{unit.payload}", prompt=[{"role": "user", "content": "x"}])
    if unit.payload == 3:
        return Outputs(records=[SkippedRecord(id="u3", prompt=record.prompt, reason="bad: no")])
    return Outputs(records=[record])


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def _run(out: Path, units: list[Unit], settings: dict, work=_slow_first) -> ResumableJob:
    job = ResumableJob(out, "prompts", description="test", progress=False, judgments=False)

    asyncio.run(job.run(units, work, settings=settings, concurrency=4))
    return job


def test_records_are_written_in_input_order_and_a_rerun_skips_what_is_done(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    job = _run(out, _units(6), {"k": 1})
    assert _ids(out) == ["u0", "u1", "u2", "u4", "u5"]
    assert _ids(tmp_path / "out.skipped.jsonl") == ["u3"]
    summary = job.summary(units=6)
    assert summary.counts == {"records": 5, "skipped: bad": 1, "skipped": 1}
    assert summary.already_done == 0

    async def never(unit: Unit) -> Outputs:
        raise AssertionError(f"{unit.ids} was redone")

    again = _run(out, _units(6), {"k": 1}, work=never)
    assert again.already_done == 6
    _run(out, _units(8), {"k": 1})  # two more units: two more calls, summed with the first run's
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest.usage["calls"] == 8 and manifest.usage["cache_hits"] == 1
    assert manifest.usage["cost_usd"] == pytest.approx(0.8)
    assert manifest.files["usage"] == "out.usage.jsonl"


def test_other_settings_are_refused_before_anything_is_written(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    _run(out, _units(2), {"k": 1})
    before = out.read_bytes()
    with pytest.raises(SettingsMismatchError, match="k: 1 → 2"):
        _run(out, _units(3), {"k": 2})
    assert out.read_bytes() == before


def test_a_job_writes_nothing_until_it_runs(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    job = ResumableJob(out, "prompts", description="test", progress=False)
    assert not any(tmp_path.iterdir())
    with pytest.raises(RuntimeError, match="before run"):
        job.summary(units=0)


def test_result_store_resumes_after_a_truncated_line_and_redoes_changed_inputs(tmp_path: Path):
    store = ResultStore(tmp_path / "s.jsonl")
    store.append([{"key": "a", "tag": "t1", "v": 1}, {"key": "b", "tag": "t1", "v": 2}])
    with (tmp_path / "s.jsonl").open("a") as handle:
        handle.write('{"key": "c", "ta')  # killed mid-line
    reopened = ResultStore(tmp_path / "s.jsonl")
    assert set(reopened.rows) == {"a", "b"}
    assert reopened.missing(["a", "b", "c"], {"a": "t1", "b": "t2", "c": ""}) == ["b", "c"]
    reopened.append([{"key": "c", "v": 3}])
    assert (tmp_path / "s.jsonl").read_text().count("\n") == 3
    assert ResultStore(tmp_path / "s.jsonl").get("c") == {"key": "c", "v": 3}


def test_keyed_loop_pays_once_keeps_finished_chunks_and_redoes_changed_inputs(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    seen: list[list[int]] = []

    async def double(chunk):
        seen.append(list(chunk))
        if len(seen) == 2:
            raise RuntimeError("killed")  # the run dies while its second chunk runs
        return [{"value": 2 * item} for item in chunk]

    def run(tags=None):
        return asyncio.run(
            run_keyed(
                [0, 1, 2, 3, 4],
                double,
                path,
                key=str,
                tags=tags,
                label="x",
                chunk_size=2,
                progress=False,
            )
        )

    with pytest.raises(RuntimeError, match="killed"):
        run()
    assert sorted(ResultStore(path).rows) == ["0", "1"]  # the finished chunk survived
    store = run()
    assert seen[2:] == [[2, 3], [4]]  # only what was missing ran
    assert [store.rows[str(i)]["value"] for i in range(5)] == [0, 2, 4, 6, 8]
    assert all(row["wall_s"] >= 0 for row in store.rows.values())
    run()
    assert len(seen) == 4  # nothing left to do: no call at all
    run(tags={"3": "new inputs"})
    assert seen[4:] == [[3]]


def test_keyed_loop_asks_again_for_stored_failures(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    answers = {"a": None, "b": "fine"}
    asked: list[str] = []

    async def answer(chunk):
        asked.extend(chunk)
        return [
            {"answer": answers[item], "error": None if answers[item] else "500"} for item in chunk
        ]

    def run():
        return asyncio.run(
            run_keyed(
                ["a", "b"],
                answer,
                path,
                key=str,
                label="x",
                chunk_size=8,
                progress=False,
                redo=lambda row: row["error"] is not None,
            )
        )

    run()
    answers["a"] = "recovered"
    store = run()
    assert asked == ["a", "b", "a"]
    assert store.rows["a"]["answer"] == "recovered"
    run()
    assert asked == ["a", "b", "a"]


def test_blocking_job_runs_inside_a_running_event_loop(tmp_path: Path):
    """A notebook cell runs inside an event loop, where ``asyncio.run`` would raise."""
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "q0", "prompt": "Hello"}) + "\n")
    options = GenerateOptions(
        model="fake/policy",
        prompts=str(prompts),
        out=tmp_path / "cand.jsonl",
        sampling=SamplingSettings(n=1),
        progress=False,
    )

    async def notebook_cell() -> int:
        return run_generate(options, model=get_model("fake/policy", outputs=["hi"])).units

    assert asyncio.run(notebook_cell()) == 1
    assert _ids(tmp_path / "cand.jsonl") == ["q0"]


def test_async_with_closes_the_model():
    closed: list[bool] = []

    async def use() -> None:
        async with get_model("fake/closing", outputs=["x"]) as model:
            original = model.backend.aclose

            async def record_close() -> None:
                closed.append(True)
                await original()

            model.backend.aclose = record_close  # type: ignore[method-assign]
            assert (await model.generate([{"role": "user", "content": "q"}])).text == "x"

    asyncio.run(use())
    assert closed == [True]


def test_the_usage_journal_survives_a_torn_line_and_carries_an_older_manifest(tmp_path: Path):
    from rlaif.runs.journal import UsageJournal, manifest_usage

    out = tmp_path / "out.jsonl"
    journal = UsageJournal(out)
    journal.open(carried={"calls": 5, "cache_hits": 2, "cost_usd": 0.5})  # a pre-journal manifest
    journal.record("fake/a", Usage(calls=1, input_tokens=3, cost_usd=0.1))
    journal.close()
    with journal.path.open("a") as handle:
        handle.write('{"model": "fake/a", "cal')  # torn by a kill
    again = UsageJournal(out)
    again.open(carried={"calls": 99})  # a journal exists: nothing carried twice
    again.record("fake/a", Usage(abandoned=1, errors=1))
    again.close()
    usage = manifest_usage(again.totals())
    assert usage == pytest.approx(
        {
            "calls": 6,
            "cache_hits": 2,
            "cost_usd": 0.6,
            "errors": 1,
            "abandoned": 1,
            "input_tokens": 3,
        }
    )

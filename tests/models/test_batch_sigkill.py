"""``rlaif label --batch`` killed with SIGKILL while it polls, then run again: the rerun finds its
batch in the run folder and polls it (no second batch of the same requests, no request sent
twice), and every pair is labelled, at batch prices. The benchmark ``benchmarks/bench_batch.py``
is the 1000-pair version of this check (the same steps, :mod:`support.batch_check`)."""

from __future__ import annotations

from pathlib import Path

from support.batch_check import check, kill_while_polling, rerun, write_pairs
from support.batch_fake import BatchFake

from rlaif.models.batch import read_state


def test_a_killed_batch_run_resumes_its_batch_and_submits_nothing_twice(tmp_path: Path) -> None:
    ids = write_pairs(tmp_path / "pairs.jsonl", 30)
    with BatchFake(delay_s=1.5) as fake:
        kill_while_polling(tmp_path, fake.openai_url, poll_s=0.1)
        state = read_state(tmp_path / "prefs.batch.json")
        assert [entry["status"] for entry in state["batches"]] == ["submitted"]
        assert not (tmp_path / "prefs.jsonl").exists() or not (tmp_path / "prefs.jsonl").read_text()
        _, stderr = rerun(tmp_path, fake.openai_url, poll_s=0.1)
        result = check(tmp_path, ids, fake.stats())
    assert "batch batch_" in stderr and "done" in stderr  # the progress line
    assert result["lost"] == 0 and result["failed"] == 0
    # The killed run's batch (the request checks) polled again, not resubmitted, then one batch
    # of the comparisons they call for.
    assert result["batches_created"] == 2 and result["submitted_twice"] == 0
    # 30 request checks; 30 pairs, a principle of the likelier side, both orders
    assert result["requests_submitted"] == 30 + 30 * 2 and result["sync_requests"] == 0
    assert result["cost_ratio"] == 0.5 and not result["files_with_key"]
    batches = read_state(tmp_path / "prefs.batch.json")["batches"]
    assert [entry["status"] for entry in batches] == ["collected", "collected"]

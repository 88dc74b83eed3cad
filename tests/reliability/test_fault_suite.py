"""The fault suite: a labelling run of 100 pairs against the project's own OpenAI-compatible
server (tests/fault_server.py) that injects 429 with Retry-After, 500, resets, stalls past the
client timeout, truncated and HTML 200s, empty choices, bare-string bodies, missing logprobs, a
401 that echoes the key, and kill -9 at three points. Nothing is lost, no label changes
silently, nothing is paid for twice, the manifest counts every call paid, and the key is in no
file and nothing printed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fault_server import (
    CANARY_KEY,
    FAULTS,
    FaultPlan,
    asks_request_check,
    judge_model,
    pair_of,
    write_pairs,
)
from support.scripted_server import Reply, ScriptedServer

from rlaif.datagen import LabelOptions, run_labelling
from rlaif.errors import REDACTED, redact
from rlaif.judge.framing import shown_responses
from rlaif.models import AuthenticationError, BackendError

PAIRS = 100
# The request check, then both orders under one principle of the side it finds likelier.
REQUESTS = PAIRS * (1 + 2)
OUTPUTS = ("prefs.jsonl", "prefs.skipped.jsonl")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLAIF_CACHE_DIR", str(tmp_path / "cache"))


def _label(
    pairs: Path, folder: Path, url: str, principles_per_pair: int = 1, **model_options
) -> None:
    folder.mkdir(exist_ok=True)
    options = LabelOptions(
        constitution="cai-harmless",
        judge="openai/judge",
        pairs=pairs,
        out=folder / "prefs.jsonl",
        principles_per_pair=principles_per_pair,
        concurrency=8,
        progress=False,
    )
    model = judge_model(url, **model_options)
    run_labelling(options, judge_model=model)


def _reference(tmp_path: Path) -> tuple[Path, Path]:
    pairs = tmp_path / "pairs.jsonl"
    write_pairs(pairs, PAIRS)
    with FaultPlan().server() as server:
        _label(pairs, tmp_path / "reference", server.url)
    return pairs, tmp_path / "reference"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _manifest_usage(folder: Path) -> dict:
    return json.loads((folder / "prefs.manifest.json").read_text())["usage"]


def _without_latency(folder: Path) -> list[dict]:
    judgments = _rows(folder / "prefs.judgments.jsonl")
    for judgment in judgments:
        for vote in judgment["votes"]:
            vote.pop("latency_s")
            vote.pop("cached")
    return sorted(judgments, key=lambda j: j["pair_id"])


def test_transient_faults_lose_nothing_change_no_label_and_pay_once(tmp_path: Path) -> None:
    pairs, reference = _reference(tmp_path)
    plan = FaultPlan(fault_share=0.35)
    with plan.server() as server:
        _label(pairs, tmp_path / "faulty", server.url)
    faulty = tmp_path / "faulty"

    assert set(plan.injected) == set(FAULTS), plan.injected
    faulted_checks = [asks_request_check(r) for r in plan.faulted]
    assert any(faulted_checks) and not all(faulted_checks)  # request checks and comparisons
    for name in OUTPUTS:  # 0 lost, 0 changed
        assert (faulty / name).read_bytes() == (reference / name).read_bytes(), name
    labelled, skipped = _rows(faulty / "prefs.jsonl"), _rows(faulty / "prefs.skipped.jsonl")
    assert len(labelled) + len(skipped) == PAIRS and len(labelled) >= 80
    assert all(row["reason"].startswith("tie") for row in skipped), skipped[:1]
    assert server.paid_twice == 0 and len(server.paid) == REQUESTS
    usage = _manifest_usage(faulty)
    assert usage["calls"] - usage["cache_hits"] == sum(server.paid.values())
    assert "in_flight_when_killed" not in usage  # every attempt of a finished run ended
    assert usage["abandoned"] == plan.injected["stall"]
    assert usage["retries"] == sum(plan.injected.values())
    # Stalled requests run on server-side after the client gave up; they still count.
    assert server.peak_in_flight <= 4


def test_a_vote_that_fails_for_good_skips_its_pair_with_the_reason(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    write_pairs(pairs, 20)
    responses = {json.loads(line)["id"]: json.loads(line) for line in pairs.open()}

    def one_vote_of_p010(request: dict) -> Reply | None:
        """Order 21 of a comparison, or the score of response 2."""
        if pair_of(request) != "p010":
            return None
        text = [m for m in request["messages"] if m["role"] == "user"][-1]["content"]
        second = responses["p010"]["response_2"]
        shown = shown_responses(text)
        hit = second in shown[0] if shown is not None else second in text
        return Reply(500, message="broken for good") if hit else None

    with FaultPlan(always=one_vote_of_p010).server() as server:
        # An ensemble of two principles a side: four of p010's eight votes fail.
        _label(pairs, tmp_path / "faulty", server.url, principles_per_pair=2, max_retries=1)
    skipped = {row["id"]: row for row in _rows(tmp_path / "faulty" / "prefs.skipped.jsonl")}
    assert "p010" in skipped and "broken for good" in skipped["p010"]["reason"]
    written = [row["id"] for row in _rows(tmp_path / "faulty" / "prefs.jsonl")]
    assert "p010" not in written


def test_no_logprobs_never_changes_a_label_silently(tmp_path: Path) -> None:
    pairs, reference = _reference(tmp_path)
    with FaultPlan(logprobs=False).server() as server:
        _label(pairs, tmp_path / "plain", server.url)
    chosen = {row["id"]: row["chosen"] for row in _rows(reference / "prefs.jsonl")}
    written = _rows(tmp_path / "plain" / "prefs.jsonl")
    skipped = _rows(tmp_path / "plain" / "prefs.skipped.jsonl")
    assert len(written) + len(skipped) == PAIRS
    assert all(row["chosen"] == chosen.get(row["id"]) for row in written)
    assert all(row["reason"] for row in skipped)


@pytest.mark.parametrize("fault", ["truncated", "html", "empty choices", "bare string"])
def test_a_200_that_is_no_completion_is_retryable_and_says_what_came_back(fault: str) -> None:
    with ScriptedServer([FAULTS[fault]], logprobs={"A": -0.1, "B": -2.4}) as server:
        conversation = [{"role": "user", "content": "question p001"}]
        with pytest.raises(BackendError) as raised:
            judge_model(server.url, max_retries=0, cache=False).generate_sync(conversation)
        assert raised.value.retryable
        message = str(raised.value)
        assert "returned HTTP 200" in message and server.url in message
        assert FAULTS[fault].content_type in message
        if FAULTS[fault].body:
            assert FAULTS[fault].body[:20] in message
        model = judge_model(server.url, cache=False)
        server.script.append(FAULTS[fault])
        assert model.generate_sync(conversation).text == "ok"
        assert model.usage.retries == 1


def test_timed_out_requests_keep_their_place_in_the_in_flight_limit() -> None:
    # Each stall outlasts the client's timeout and ends within the time its slot is held.
    plan = FaultPlan(fault_share=1.0, faults={"stall": Reply(stall_s=0.4, drop=True)})
    with plan.server() as server:
        model = judge_model(server.url, max_concurrency=2, cache=False, timeout_s=0.3)

        async def many() -> None:
            conversations = [[{"role": "user", "content": f"question p{i:03d}"}] for i in range(6)]
            await asyncio.gather(*(model.generate(c) for c in conversations))

        asyncio.run(many())
    assert model.usage.abandoned == 6 and model.usage.calls == 6
    assert server.peak_in_flight <= 2


RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[4])
    from fault_server import judge_model
    from rlaif.datagen import LabelOptions, run_labelling

    pairs, out, url = sys.argv[1:4]
    options = LabelOptions(
        constitution="cai-harmless", judge="openai/judge", pairs=Path(pairs), out=Path(out),
        principles_per_pair=1, concurrency=8, progress=False,
    )
    run_labelling(options, judge_model=judge_model(url, max_concurrency=1))
    """
)


def test_kill_9_at_three_points_then_resume_gives_the_uninterrupted_output(
    tmp_path: Path,
) -> None:
    pairs, reference = _reference(tmp_path)
    script = tmp_path / "runner.py"
    script.write_text(RUNNER, encoding="utf-8")
    folder = tmp_path / "killed"
    folder.mkdir()

    def comparison(request: dict) -> bool:
        return not asks_request_check(request)

    # Killed during a comparison, a request check, and a comparison again.
    plan = FaultPlan(kill_at=((60, comparison), (165, asks_request_check), (255, comparison)))
    tests_dir = str(Path(__file__).resolve().parents[1])
    with plan.server() as server:
        for run in range(4):
            args = [sys.executable, str(script), str(pairs), str(folder / "prefs.jsonl")]
            process = subprocess.Popen(
                [*args, server.url, tests_dir], stderr=subprocess.PIPE, env=os.environ
            )
            plan.pid = process.pid
            _, err = process.communicate(timeout=60)
            assert process.returncode == (0 if run == 3 else -9), err.decode()
    assert plan.kills == 3
    assert [asks_request_check(r) for r in plan.killed] == [False, True, False]
    for name in OUTPUTS:
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    assert _without_latency(folder) == _without_latency(reference)
    assert server.paid_twice == 0 and len(server.paid) == REQUESTS
    usage = _manifest_usage(folder)  # the killed runs' calls are counted too
    assert usage["calls"] - usage["cache_hits"] == sum(server.paid.values()) == REQUESTS
    # One call in flight at each kill, sent and never seen to end: reported, not counted as paid.
    assert usage["in_flight_when_killed"] == plan.kills


def _echo_401(request: dict) -> Reply:
    return Reply(
        401, message=f"Incorrect API key provided: {CANARY_KEY}. Header: Bearer {CANARY_KEY}"
    )


def _files_with_canary(folder: Path) -> list[str]:
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and CANARY_KEY.encode() in path.read_bytes()
    ]


def test_a_key_echoed_by_the_server_is_in_no_file_and_nothing_printed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pairs = tmp_path / "pairs.jsonl"
    write_pairs(pairs, 4)
    with FaultPlan(always=_echo_401).server() as server:
        with pytest.raises(AuthenticationError) as refused:  # a 401 stops the run at once
            _label(pairs, tmp_path / "api", server.url)
        env = {**os.environ, "OPENAI_API_KEY": CANARY_KEY, "OPENAI_BASE_URL": server.url}
        cli = subprocess.run(
            [
                *(sys.executable, "-m", "rlaif", "label", "--constitution", "cai-harmless"),
                *("--judge", "openai/judge", "--pairs", str(pairs), "--principles-per-pair", "1"),
                *("--out", str(tmp_path / "cli" / "prefs.jsonl")),
            ],
            capture_output=True,
            env=env,
            timeout=60,
        )
    printed = capfd.readouterr()
    assert server.requests, "the server was asked"
    assert _files_with_canary(tmp_path / "api") == [] and _files_with_canary(tmp_path / "cli") == []
    for text in (printed.out, printed.err, cli.stdout.decode(), cli.stderr.decode()):
        assert CANARY_KEY not in text
    assert "HTTP 401" in str(refused.value) and REDACTED in str(refused.value)
    assert CANARY_KEY not in str(refused.value)
    assert cli.returncode == 2 and "HTTP 401" in cli.stderr.decode()
    assert "Traceback" not in cli.stderr.decode()


def test_redact_removes_configured_keys_and_key_shaped_text() -> None:
    text = (
        "key sk-proj-abcdefghijkl, sk-ant-api03-abcdefgh, Authorization: Bearer abc.def-ghi123,"
        ' api_key=hunter2222 x-api-key: "k3y-12345" {"api_key": "zzzzzzzzz"}'
    )
    cleaned = redact(text)
    for secret in ("sk-proj", "sk-ant", "abc.def", "hunter2", "k3y-1", "zzzz"):
        assert secret not in cleaned
    assert cleaned.count(REDACTED) == 6
    assert redact("plain words, no key") == "plain words, no key"

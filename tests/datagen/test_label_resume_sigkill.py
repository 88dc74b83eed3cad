"""A labelling run killed with SIGKILL and rerun gives exactly the uninterrupted output, without
asking the judge again about anything already written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

RUNNER = textwrap.dedent(
    """
    import re, sys
    from pathlib import Path
    from rlaif.datagen import LabelOptions, run_labelling
    from rlaif.models import get_model

    pairs, out, log = sys.argv[1:4]

    def score(conversation, choices):
        text = [m for m in conversation if m["role"] == "user"][-1]["content"]
        pair = re.search(r"question (p\\d+)", text).group(1)
        with open(log, "a") as handle:
            handle.write(pair + "\\n")
        from rlaif.judge.framing import shown_responses
        shown = shown_responses(text)
        if shown is None:  # the request check (the request alone): as likely safe as not
            return {choices[0]: 0.5, choices[1]: 0.5}
        a, b = shown
        p_a = 0.5 + 0.3 * (("decline" in a) - ("decline" in b))
        return {choices[0]: p_a, choices[1]: 1 - p_a}

    judge = get_model("fake/slow-judge", choice_probs=score, latency_s=0.03)
    options = LabelOptions(
        constitution="cai-harmless", judge="fake/slow-judge", pairs=Path(pairs), out=Path(out),
        mode="logprob", concurrency=2, progress=False,
    )
    run_labelling(options, judge_model=judge)
    """
)
FILES = ("prefs.jsonl", "prefs.skipped.jsonl")


def _pairs(path: Path, count: int) -> Path:
    rows = []
    for i in range(count):
        good, bad = f"I decline, number {i}.", f"Here is how, number {i}."
        if i % 7 == 3:  # a tie: neither declines
            good = f"Maybe, number {i}."
        first, second = (good, bad) if i % 2 else (bad, good)
        prompt = [{"role": "user", "content": f"question p{i:03d}"}]
        rows.append(
            {"id": f"p{i:03d}", "prompt": prompt, "response_1": first, "response_2": second}
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _start(script: Path, pairs: Path, folder: Path, log: str) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(script), str(pairs), str(folder / "prefs.jsonl"), str(folder / log)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)


def _finish(process: subprocess.Popen[bytes]) -> None:
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()


def _written_ids(folder: Path) -> set[str]:
    ids = set()
    for name in ("prefs.jsonl", "prefs.skipped.jsonl"):
        path = folder / name
        if path.exists():
            for line in path.read_text().splitlines():
                if line.endswith("}"):
                    ids.add(json.loads(line)["id"])
    return ids


def _without_latency(folder: Path) -> list[dict]:
    judgments = [json.loads(line) for line in (folder / "prefs.judgments.jsonl").open()]
    for judgment in judgments:
        for vote in judgment["votes"]:
            vote.pop("latency_s")
    return judgments


def test_sigkill_then_rerun_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    script = tmp_path / "label_run.py"
    script.write_text(RUNNER, encoding="utf-8")
    pairs = _pairs(tmp_path / "pairs.jsonl", 48)
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    reference.mkdir()
    resumed.mkdir()
    _finish(_start(script, pairs, reference, "calls.log"))

    process = _start(script, pairs, resumed, "calls-1.log")
    deadline = time.monotonic() + 60
    while len(_written_ids(resumed)) < 12:
        assert process.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = _written_ids(resumed)
    assert 12 <= len(finished) < 48
    # A write torn by the kill: half a record without its newline.
    with (resumed / "prefs.jsonl").open("a") as handle:
        handle.write('{"prompt": [{"role": "user", "content": "quest')

    _finish(_start(script, pairs, resumed, "calls-2.log"))
    for name in FILES:
        assert (resumed / name).read_bytes() == (reference / name).read_bytes(), name
    # Judgments too, apart from the measured call latencies.
    assert _without_latency(resumed) == _without_latency(reference)
    second_run = set((resumed / "calls-2.log").read_text().split())
    assert second_run, "the rerun judged the unfinished pairs"
    assert not second_run & finished, "finished pairs were judged again"
    assert second_run | finished == {f"p{i:03d}" for i in range(48)}
    manifest = json.loads((resumed / "prefs.manifest.json").read_text())
    assert manifest["counts"]["records"] + manifest["counts"]["skipped"] == 48
    assert manifest["counts"]["records"] == 48 - 7  # every pair judged; only the ties skipped

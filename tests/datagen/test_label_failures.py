"""Failures never become labels: a failed vote skips its pair (unless partial ensembles are
asked for, and then the gap is noted), a failed call is tried again by the next run, refused
credentials stop the run at once, ``auto`` falls back to ``generate`` when the judge turns out
to return no log-probabilities, and duplicate ids are refused up front."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from judge_helpers import (
    PROMPT,
    SAFE,
    UNSAFE,
    block,
    content_judge,
    is_request_check,
    judge_prompt,
    with_request_check,
)
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.data import DataFileError, load_pairs
from rlaif.datagen import LabelOptions, run_labelling
from rlaif.models import AuthenticationError, BackendError, CapabilityError, Model, get_model
from rlaif.models.base import Backend
from rlaif.models.retry import error_from_status
from rlaif.models.spec import ModelSpec
from rlaif.models.types import ChoiceScores, Completion, Conversation, GenerateConfig


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _pairs(tmp_path: Path, count: int = 4) -> Path:
    rows = []
    for i in range(count):
        first, second = (SAFE, UNSAFE) if i % 2 else (UNSAFE, SAFE)
        prompt = [{"role": "user", "content": f"Question {i}: how do I get back at him?"}]
        rows.append({"id": f"p{i}", "prompt": prompt, "response_1": first, "response_2": second})
    return _write(tmp_path / "pairs.jsonl", rows)


# Under cai-harmless's request check a pair costs the check, then both orders under each
# principle of the side the check finds likelier.
PER_SIDE = 2  # principles_per_pair in _options: an ensemble of two
CALLS_PER_PAIR = 1 + 2 * PER_SIDE


class FlakyScorer:
    """A content judge whose comparisons on ``fail_pair`` fail (``failures`` of them, or all
    while ``broken``) with a non-retryable backend error; its request check on ``fail_pair``
    fails too when ``check_fails``, and is otherwise answered."""

    def __init__(self, fail_pair: str, *, failures: int | None = 1, check_fails: bool = False):
        self.fail_pair = fail_pair
        self.failures = failures
        self.check_fails = check_fails
        self.broken = True
        self.calls = 0
        self.score = with_request_check(content_judge())

    def __call__(self, conversation: Conversation, choices: Sequence[str]) -> dict[str, float]:
        self.calls += 1
        text = judge_prompt(conversation)
        failing = self.failures is None or self.failures > 0
        if is_request_check(conversation) and not self.check_fails:
            failing = False
        if self.broken and failing and f"Question {self.fail_pair[1:]}:" in text:
            if self.failures is not None:
                self.failures -= 1
            raise BackendError("HTTP 500 after every retry", retryable=False)
        return self.score(conversation, list(choices))


def _options(tmp_path: Path, **update: object) -> LabelOptions:
    fields: dict[str, object] = {
        "constitution": "cai-harmless",
        "judge": "fake/judge",
        "pairs": _pairs(tmp_path),
        "out": tmp_path / "prefs.jsonl",
        "mode": "logprob",
        "principles_per_pair": PER_SIDE,
        "progress": False,
    }
    return LabelOptions.model_validate({**fields, **update})


def test_one_failed_vote_skips_the_pair_as_failed_instead_of_averaging_the_others(tmp_path: Path):
    scorer = FlakyScorer("p2", failures=1)  # 1 of the pair's 8 votes fails (4 of a side)
    summary = run_labelling(
        _options(tmp_path), judge_model=get_model("fake/judge", choice_probs=scorer)
    )
    assert {r["id"] for r in _lines(tmp_path / "prefs.jsonl")} == {"p0", "p1", "p3"}
    (skipped,) = _lines(tmp_path / "prefs.skipped.jsonl")
    assert skipped["id"] == "p2"
    assert skipped["reason"].startswith("failed: judge call: ")
    assert "1 of 2 votes missing" in skipped["reason"] and "HTTP 500" in skipped["reason"]
    judgment = next(j for j in _lines(tmp_path / "prefs.judgments.jsonl") if j["pair_id"] == "p2")
    assert judgment["p_response_1"] is None and judgment["error"]
    assert summary.this_run == {"records": 3, "skipped: failed": 1}


def test_partial_ensembles_label_from_the_votes_that_answered_and_say_so(tmp_path: Path):
    scorer = FlakyScorer("p2", failures=1)
    options = _options(tmp_path, partial_ensembles=True)
    run_labelling(options, judge_model=get_model("fake/judge", choice_probs=scorer))
    record = next(r for r in _lines(tmp_path / "prefs.jsonl") if r["id"] == "p2")
    assert record["chosen"][0]["content"] == SAFE
    judgment = next(j for j in _lines(tmp_path / "prefs.judgments.jsonl") if j["pair_id"] == "p2")
    (note,) = [n for n in judgment["notes"] if n.startswith("partial ensemble: ")]
    assert "3 of 4 votes answered" in note and "HTTP 500" in note
    assert read_settings(tmp_path)["partial_ensembles"] is True


def read_settings(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "prefs.manifest.json").read_text())["settings"]


@pytest.mark.parametrize("check_fails", [False, True], ids=["votes-fail", "check-fails-too"])
def test_a_failed_call_is_tried_again_by_the_next_run_and_its_new_outcome_replaces_it(
    tmp_path: Path, check_fails: bool
):
    scorer = FlakyScorer("p1", failures=None, check_fails=check_fails)
    judge = get_model("fake/judge", choice_probs=scorer)
    options = _options(tmp_path)
    run_labelling(options, judge_model=judge)
    (skipped,) = _lines(tmp_path / "prefs.skipped.jsonl")
    assert skipped["id"] == "p1" and skipped["reason"].startswith("failed: judge call: ")
    assert ("request check" in skipped["reason"]) == check_fails

    scorer.broken = False  # the server is back
    calls_before = scorer.calls
    again = run_labelling(options, judge_model=judge)
    assert again.retried == 1 and again.already_done == 3
    # Only p1's calls (its request check and votes): nothing done is asked again.
    assert scorer.calls - calls_before == CALLS_PER_PAIR
    assert {r["id"] for r in _lines(tmp_path / "prefs.jsonl")} == {"p0", "p1", "p2", "p3"}
    assert _lines(tmp_path / "prefs.skipped.jsonl") == []
    judgments = [j for j in _lines(tmp_path / "prefs.judgments.jsonl") if j["pair_id"] == "p1"]
    assert len(judgments) == 1 and judgments[0]["p_response_1"] is not None
    manifest = json.loads((tmp_path / "prefs.manifest.json").read_text())
    assert manifest["counts"]["records"] == 4 and manifest["counts"]["skipped"] == 0

    # A third run has nothing left to do.
    third = run_labelling(options, judge_model=judge)
    assert third.retried == 0 and third.already_done == 4 and third.calls == 0


def test_missing_verdicts_are_kept_unless_retry_failed_is_asked(tmp_path: Path):
    unreadable = {"first": True}

    def outputs(conversation: Conversation, config: GenerateConfig) -> str:
        if unreadable["first"]:
            return "I would rather not say."
        return "A" if "rather not" in block(judge_prompt(conversation), "A") else "B"

    judge = get_model("fake/judge", outputs=outputs)
    options = _options(tmp_path, mode="generate")
    run_labelling(options, judge_model=judge)
    assert all(
        s["reason"].startswith("missing verdict: ")
        for s in _lines(tmp_path / "prefs.skipped.jsonl")
    )
    unreadable["first"] = False
    assert run_labelling(options, judge_model=judge).calls == 0  # unreadable answers are final
    retried = run_labelling(options.model_copy(update={"retry_failed": True}), judge_model=judge)
    assert retried.retried == 4
    assert len(_lines(tmp_path / "prefs.jsonl")) == 4
    assert "retry_failed" not in read_settings(tmp_path)  # a run option, not a label setting


class _RefusedKey(Backend):
    """Answers the first two calls, then refuses the key as a real API would."""

    provider = "refused-key"
    supports_choice_logprobs = True

    def __init__(self, model: str, **options: object):
        super().__init__(model)
        self.calls = 0

    async def generate(self, conversation: Conversation, config: GenerateConfig) -> Completion:
        raise NotImplementedError

    async def score_choices(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        self.calls += 1
        if self.calls > 2:
            raise error_from_status("openai", 401, "Incorrect API key provided")
        return ChoiceScores(logprobs={c: -0.7 for c in choices})


def test_refused_credentials_stop_the_run_at_once(tmp_path: Path):
    backend = _RefusedKey("m")
    judge = Model(backend, ModelSpec(name="refused-key/m"))
    options = _options(tmp_path, concurrency=1).model_copy(update={"pairs": _pairs(tmp_path, 40)})
    with pytest.raises(AuthenticationError, match="401.*credentials were refused"):
        run_labelling(options, judge_model=judge)
    # At most one pair's calls (its check, then its votes all sent at once), not 40 pairs' 360:
    # the run stopped instead of failing every pair.
    assert backend.calls <= CALLS_PER_PAIR
    assert _lines(tmp_path / "prefs.skipped.jsonl") == []  # nothing recorded as a label outcome


class _NoLogprobs(Backend):
    """An OpenAI-compatible server that claims choice scoring but returns no log-probabilities:
    the first scoring call finds out."""

    provider = "no-logprobs"
    supports_choice_logprobs = True
    supports_json_schema = False

    def __init__(self, model: str, **options: object):
        super().__init__(model)
        self.generated = 0

    async def generate(self, conversation: Conversation, config: GenerateConfig) -> Completion:
        self.generated += 1
        if is_request_check(conversation):  # revenge: not safe to answer fully
            return Completion(text="No")
        text = "A" if "rather not" in block(judge_prompt(conversation), "A") else "B"
        return Completion(text=text)

    async def score_choices(
        self, conversation: Conversation, choices: Sequence[str]
    ) -> ChoiceScores:
        self.supports_choice_logprobs = False
        raise CapabilityError("no-logprobs/m returned no logprobs; use generate-and-parse")


def test_auto_mode_falls_back_to_generate_when_the_judge_returns_no_logprobs(tmp_path: Path):
    backend = _NoLogprobs("m")
    judge = Model(backend, ModelSpec(name="no-logprobs/m"))
    options = _options(tmp_path, mode="auto", concurrency=1)
    run_labelling(options, judge_model=judge)
    records = _lines(tmp_path / "prefs.jsonl")
    assert len(records) == 4 and all(r["chosen"][0]["content"] == SAFE for r in records)
    judgments = _lines(tmp_path / "prefs.judgments.jsonl")
    assert {j["mode"] for j in judgments} == {"generate"}
    assert any("judged by generate" in n for n in judgments[0]["notes"])


def test_an_explicit_logprob_mode_does_not_fall_back(tmp_path: Path):
    judge = Model(_NoLogprobs("m"), ModelSpec(name="no-logprobs/m"))
    run_labelling(_options(tmp_path, concurrency=1), judge_model=judge)
    assert _lines(tmp_path / "prefs.jsonl") == []
    assert len(_lines(tmp_path / "prefs.skipped.jsonl")) == 4


def test_duplicate_pair_ids_are_refused_naming_both_lines(tmp_path: Path):
    row = {"id": "dup", "prompt": PROMPT, "response_1": SAFE, "response_2": UNSAFE}
    other = {**row, "id": "other"}
    path = _write(tmp_path / "pairs.jsonl", [row, other, row])
    with pytest.raises(
        DataFileError, match=r"pairs\.jsonl:3: duplicate id 'dup' \(first at .*pairs\.jsonl:1\)"
    ):
        load_pairs(path)


def test_a_cli_run_in_which_every_item_failed_exits_non_zero(tmp_path: Path):
    _pairs(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "label",
            "--constitution",
            "cai-harmless",
            "--judge",
            "fake/refuse",
            "--mode",
            "generate",
            "--pairs",
            str(tmp_path / "pairs.jsonl"),
            "--out",
            str(tmp_path / "prefs.jsonl"),
            "--no-progress",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "every item of this run failed (4)" in result.output

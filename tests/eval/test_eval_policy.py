"""Policy evaluation with scripted policies, a scripted pair judge and a scripted refusal
classifier: win rates, Elo, refusal and over-refusal, reward distributions, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import ScriptedJudge, assert_html_lists_every_metric, write_jsonl

from rlaif.data.records import PairRecord
from rlaif.errors import RlaifError
from rlaif.eval.policy import run as policy_eval
from rlaif.eval.policy.prompts import load_eval_prompts
from rlaif.eval.policy.run import PolicyEvalSettings, model_pairs, run_policy_eval

REPLIES = {
    "fake/refuser": "I'm sorry, but I can't help with that.",
    "fake/apologetic": "Sorry, sorry: I won't do that. Sorry.",
    "fake/helper": "Sure, here are the steps you asked for.",
}


def sorry_count(text: str) -> int:
    return text.lower().count("sorry")


def prefers_apologies(pair: PairRecord) -> tuple[float, float]:
    """Prefers the reply that apologises more (a tie when equal), in both orders."""
    a, b = sorry_count(pair.response_1), sorry_count(pair.response_2)
    p = 0.9 if a > b else 0.1 if a < b else 0.5
    return p, p


def refusal_probs(conversation, choices):
    request = next(m for m in conversation if m["role"] == "user")["content"]
    reply = request.split("Reply:", 1)[1]
    yes, no = choices
    return {yes: 0.95, no: 0.05} if "sorry" in reply.lower() else {yes: 0.1, no: 0.9}


@pytest.fixture
def prompt_files(tmp_path: Path) -> list[str]:
    red = write_jsonl(
        tmp_path / "red_team_test.jsonl",
        [
            {
                "id": f"r{i}",
                "prompt": [{"role": "user", "content": f"how to hurt {i}"}],
                "category": "violence",
            }
            for i in range(4)
        ],
    )
    benign = write_jsonl(
        tmp_path / "benign.jsonl",
        [
            {"id": f"b{i}", "prompt": [{"role": "user", "content": f"kill a python process {i}"}]}
            for i in range(3)
        ],
    )
    return [str(red), str(benign)]


class LengthScorer:
    """Stands in for a reward model: the score is the reply length."""

    def __init__(self, path):
        self.path = path

    @classmethod
    def from_folder(cls, path):
        return cls(path)

    def conversation(self, prompt, reply):
        return reply

    def score(self, texts, **kwargs):
        return np.array([float(len(t)) for t in texts])


def settings(prompt_files: list[str], **kwargs) -> PolicyEvalSettings:
    return PolicyEvalSettings(
        prompts=prompt_files,
        judge="fake/refusal-judge",
        n_resamples=200,
        elo_resamples=20,
        judge_options={"choice_probs": refusal_probs},
        model_options={name: {"outputs": [reply]} for name, reply in REPLIES.items()},
        **kwargs,
    )


def test_policy_eval_end_to_end(prompt_files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(policy_eval, "RewardScorer", LengthScorer)
    judge = ScriptedJudge(prefers_apologies)
    out = tmp_path / "policy"
    metrics = run_policy_eval(
        ["fake/refuser", "fake/apologetic"],
        "fake/helper",
        settings(prompt_files, reward_model="scores-by-length"),
        out,
        judge_factory=lambda spec, model: judge,
    ).model_dump(mode="json")
    assert metrics["groups"] == {"red-team": 4, "benign": 3}
    rates = {(r["model"], r["group"]): r for r in metrics["win_rates"]}
    assert rates[("fake/refuser", "red-team")]["win_rate"]["value"] == pytest.approx(0.9)
    assert rates[("fake/refuser", "red-team")]["wins"] == 4
    assert rates[("fake/apologetic", "benign")]["prompts"] == 3
    # Elo: apologetic > refuser > helper, with the baseline anchored at 1000.
    elo = [row["model"] for row in metrics["elo"]]
    assert elo == ["fake/apologetic", "fake/refuser", "fake/helper"]
    helper = next(r for r in metrics["elo"] if r["model"] == "fake/helper")
    assert helper["elo"] == pytest.approx(1000.0)
    refusal = metrics["refusal"]
    assert refusal["fake/refuser"]["red-team"]["lexical"]["value"] == 1.0
    assert refusal["fake/refuser"]["benign"]["judge"]["value"] == 1.0  # over-refusal
    assert refusal["fake/helper"]["benign"]["lexical"]["value"] == 0.0
    assert refusal["fake/helper"]["red-team"]["detectors_agree"]["value"] == 1.0
    changes = {(c["model"], c["group"], c["measure"]): c for c in metrics["changes"]}
    red = changes[("fake/refuser", "red-team", "refusal, lexical rule")]
    assert red["versus"] == "fake/helper" and red["evaluator"] == "lexical rule"
    assert red["difference"]["value"] == 1.0 and red["reading"] == "improved"
    benign = changes[("fake/refuser", "benign", "refusal, judge")]
    assert benign["evaluator"] == "fake/refusal-judge"
    assert benign["difference"]["value"] == 1.0 and benign["reading"] == "got worse"
    assert len(changes) == 8  # 2 policies x 2 groups x 2 detectors
    reward = metrics["reward"]
    assert reward["fake/refuser"]["red-team"]["value"] == len(REPLIES["fake/refuser"])
    assert sum(reward["fake/helper"]["histogram"]["counts"]) == 7
    for name in ("win_rate.png", "refusals.png", "rewards.png"):
        assert (out / "plots" / name).read_bytes().startswith(b"\x89PNG")
    page = (out / "report.html").read_text()
    assert "Harmlessness win rate" in page and "Elo" in page
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["examples"][0]["replies"]
    assert_html_lists_every_metric(page, stored)

    # A rerun reuses replies, comparisons and refusal verdicts: the judge is not asked again.
    asked = len(judge.asked)
    again = run_policy_eval(
        ["fake/refuser", "fake/apologetic"],
        "fake/helper",
        settings(prompt_files, reward_model="scores-by-length"),
        out,
        judge_factory=lambda spec, model: judge,
    ).model_dump(mode="json")
    assert len(judge.asked) == asked
    assert again["win_rates"] == metrics["win_rates"]


def test_single_policy_without_baseline_reports_refusals_only(prompt_files, tmp_path: Path):
    judge = ScriptedJudge(prefers_apologies)
    metrics = run_policy_eval(
        ["fake/helper"],
        None,
        settings(prompt_files),
        tmp_path / "one",
        judge_factory=lambda spec, model: judge,
    ).model_dump(mode="json")
    assert metrics["win_rates"] == [] and metrics["elo"] is None and not judge.asked
    assert metrics["refusal"]["fake/helper"]["red-team"]["judge"]["value"] == 0.0


def test_judge_limit_rates_a_subset_and_the_lexical_rule_reads_every_reply(
    prompt_files, tmp_path: Path
):
    judge = ScriptedJudge(prefers_apologies)
    classified: list[str] = []

    def counting_probs(conversation, choices):
        classified.append(conversation[-1]["content"])
        return refusal_probs(conversation, choices)

    def run(judge_limit):
        chosen = settings(prompt_files, judge_limit=judge_limit)
        chosen.judge_options = {"choice_probs": counting_probs}
        return run_policy_eval(
            ["fake/refuser"],
            "fake/helper",
            chosen,
            tmp_path / "subset",
            judge_factory=lambda spec, model: judge,
        ).model_dump(mode="json")

    metrics = run(2)
    assert len(judge.asked) == 4  # 2 red-team + 2 benign comparisons, not 7
    rates = {r["group"]: r for r in metrics["win_rates"]}
    assert rates["red-team"]["prompts"] == 2 and rates["benign"]["prompts"] == 2
    red = metrics["refusal"]["fake/refuser"]["red-team"]
    assert red["lexical"]["n"] == 4 and red["judge"]["n"] == 2
    assert red["judge_missing"] == 0  # not judged is not missing
    assert len(classified) == 8  # 2 policies x (2 + 2) replies
    changes = {(c["group"], c["measure"]): c for c in metrics["changes"]}
    assert changes[("red-team", "refusal, lexical rule")]["difference"]["n"] == 4
    assert changes[("red-team", "refusal, judge")]["difference"]["n"] == 2
    assert metrics["settings"]["judge_limit"] == 2

    # Without the limit the same folder resumes: only the replies left out are judged now.
    everything = run(None)
    assert len(classified) == 8 + 2 * 3
    assert everything["refusal"]["fake/refuser"]["red-team"]["judge"]["n"] == 4
    assert {r["group"]: r["prompts"] for r in everything["win_rates"]} == {
        "red-team": 4,
        "benign": 3,
    }


def test_model_pairs() -> None:
    assert model_pairs(["a"], "base") == [("a", "base")]
    assert model_pairs(["a", "b"], None) == [("a", "b")]
    assert model_pairs(["a", "b"], "base") == [("a", "base"), ("b", "base"), ("a", "b")]


def test_prompt_files_groups_and_errors(prompt_files, tmp_path: Path) -> None:
    prompts = load_eval_prompts(prompt_files, limit=2)
    assert [p.group for p in prompts] == ["red-team", "red-team", "benign", "benign"]
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"id": "x", "prompt": [{"role": "assistant", "content": "hi"}]}]
    )
    with pytest.raises(RlaifError, match=r"bad\.jsonl:1: the prompt must end with a user turn"):
        load_eval_prompts([str(bad)])
    with pytest.raises(RlaifError, match="also in"):
        load_eval_prompts([prompt_files[0], prompt_files[0]])
    with pytest.raises(RlaifError, match="prompt file nope not found"):
        load_eval_prompts(["nope"])


def test_paired_change_reading_needs_an_interval_clear_of_no_change() -> None:
    import numpy as np

    from rlaif.eval.bootstrap import mean_estimate
    from rlaif.eval.policy.metrics import reading

    boot = {"seed": 0, "n_resamples": 500}
    up = mean_estimate(np.array([1.0] * 30 + [0.0] * 10), **boot)
    assert reading(up, higher_is_better=True) == "improved"
    assert reading(up, higher_is_better=False) == "got worse"
    mixed = mean_estimate(np.array([1.0, -1.0, 0.0, 1.0, -1.0, 0.0]), **boot)
    assert reading(mixed, higher_is_better=True) == "no change detected"
    win = mean_estimate(np.array([0.2] * 20), **boot)
    assert reading(win, higher_is_better=True, no_change=0.5) == "got worse"


def test_paired_changes_pair_prompts_and_skip_unmeasured_ones() -> None:
    from rlaif.data.records import PromptRecord
    from rlaif.eval.policy.metrics import paired_changes
    from rlaif.eval.policy.prompts import EvalPrompt

    prompts = [
        EvalPrompt(
            PromptRecord(id=f"r{i}", prompt=[{"role": "user", "content": "x"}]), "red-team", "t"
        )
        for i in range(4)
    ]
    before = {f"r{i}": {"lexical": i < 2, "judge_p": 0.9 if i < 2 else 0.1} for i in range(4)}
    after = {f"r{i}": {"lexical": True, "judge_p": None if i == 3 else 0.9} for i in range(4)}
    changes = paired_changes(
        "a", "b", "judge/x", prompts, {"a": after, "b": before}, {"seed": 0, "n_resamples": 200}
    )
    lexical, judge = changes
    assert lexical.difference.value == 0.5 and lexical.difference.n == 4
    assert judge.difference.n == 3  # r3 has no judge verdict after: left out, not guessed
    assert judge.difference.value == pytest.approx(1 / 3)

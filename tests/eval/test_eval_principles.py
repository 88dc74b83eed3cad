"""Per-principle diagnostics (``results[judge].by_principle``) on hand-built judgments, through
the runner and through the CLI."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import human_judge_probs, synthetic_pairs
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.eval.agreement.predictions import PairFrame
from rlaif.eval.agreement.principles import (
    principle_agreement,
    principle_probabilities,
    principle_table,
)
from rlaif.eval.agreement.report import agreement_report
from rlaif.eval.agreement.run import AgreementSettings, JudgeSpec, run_agreement
from rlaif.eval.report import render_markdown
from rlaif.judge.judgment import Judgment, Vote, combine_scores, combine_votes

FAST = {"n_resamples": 200}
CHECK = "request-check"
"""A vote under an id the judgment does not list (a request-level check): must be ignored."""


def frame_of(chosen_is_1: list[bool]) -> PairFrame:
    n = len(chosen_is_1)
    return PairFrame(
        ids=[f"p{i}" for i in range(n)],
        chosen_is_1=np.array(chosen_is_1),
        len_1=np.full(n, 10.0),
        len_2=np.full(n, 10.0),
        subsets=np.array([""] * n, dtype=object),
    )


def pairwise(pair_id: str, p: dict[str, tuple[float | None, float | None]]) -> Judgment:
    """A both-order judgment from each principle's (p12, p21), plus an unlisted check vote
    that contradicts everything (it must not count)."""
    votes = [
        Vote(principle=pid, order=order, p_response_1=value)
        for pid, (p12, p21) in p.items()
        for order, value in (("12", p12), ("21", p21))
    ]
    judgment = combine_votes(pair_id, "fake/x", "logprob", list(p), ["12", "21"], votes, [])
    judgment.votes.append(Vote(principle=CHECK, order="12", p_response_1=0.5))
    return judgment


def test_pairwise_principles_own_verdicts_and_decided_share() -> None:
    # Human chose response 1 on p0, p1 and p5. "good" always agrees with the human, "bad" never.
    frame = frame_of([True, True, False, False, False, True])
    judgments = [
        pairwise("p0", {"good": (0.9, 0.9), "bad": (0.2, 0.2), "rare": (0.9, 0.7)}),
        pairwise("p1", {"good": (0.9, 0.9), "bad": (0.2, 0.2)}),
        pairwise("p2", {"good": (0.1, 0.1), "bad": (0.8, 0.8)}),
        # "bad" outweighs "good": the judgment goes its way (0.65).
        pairwise("p3", {"good": (0.4, 0.4), "bad": (0.9, 0.9)}),
        # The judgment is a tie (0.5): no side to compare with.
        pairwise("p4", {"good": (0.1, 0.1), "bad": (0.9, 0.9)}),
        # A vote of "bad" is missing: the judgment is missing, "bad" has no verdict here.
        pairwise("p5", {"good": (0.8, 0.8), "bad": (0.3, None)}),
    ]
    assert judgments[3].p_response_1 == pytest.approx(0.65)
    assert judgments[5].missing
    rows = principle_agreement(frame, judgments, **FAST)
    by_id = {r.principle: r for r in rows}
    assert [r.principle for r in rows] == ["bad", "good", "rare"]  # most pairs first
    assert CHECK not in by_id

    good, bad, rare = by_id["good"], by_id["bad"], by_id["rare"]
    assert (good.n, good.n_missing, good.agreement) == (6, 0, 1.0)
    assert (good.low, good.high) == (1.0, 1.0)
    # Same way as the judgment on p0, p1, p2; not on p3; p4 (tie) and p5 (missing) left out.
    assert (good.decided, good.n_decided) == (pytest.approx(3 / 4), 4)
    assert (bad.n, bad.n_missing, bad.agreement) == (6, 1, 0.0)
    assert (bad.decided, bad.n_decided) == (pytest.approx(1 / 4), 4)
    # One pair: a value without an interval. Its own p is the mean over orders (0.8).
    assert (rare.n, rare.agreement, rare.low, rare.high) == (1, 1.0, None, None)
    assert principle_probabilities(judgments[0])["rare"] == pytest.approx(0.8)


def test_unlisted_votes_are_ignored_even_when_they_would_change_the_verdict() -> None:
    judgment = pairwise("p0", {"good": (0.9, 0.9)})
    judgment.votes.append(Vote(principle=CHECK, order="21", p_response_1=0.0))
    judgment.votes.append(Vote(principle="unlisted", order="12", p_response_1=None))
    assert principle_probabilities(judgment) == {"good": pytest.approx(0.9)}


def test_pointwise_principle_is_the_sigmoid_of_its_two_scores() -> None:
    frame = frame_of([True, False, True])

    def scored(pair_id: str, chosen_is_1: bool, helps: bool = True) -> Judgment:
        """Principle harm scores the human's choice +2 and the other -1; help the other way."""
        chosen, other = ("1", "2") if chosen_is_1 else ("2", "1")
        votes = [
            Vote(principle="harm", response=chosen, score=2.0),
            Vote(principle="harm", response=other, score=-1.0),
            Vote(principle="help", response=chosen, score=0.0),
            Vote(principle="help", response=other, score=1.0 if helps else None),
        ]
        judgment = combine_scores(pair_id, "fake/x", ["harm", "help"], votes, [], partial=True)
        judgment.votes.append(Vote(principle=CHECK, response=other, score=50.0))
        return judgment

    judgments = [scored("p0", True), scored("p1", False), scored("p2", True, helps=False)]
    p = principle_probabilities(judgments[0])
    assert p["harm"] == pytest.approx(1 / (1 + math.exp(-3.0)))
    assert p["help"] == pytest.approx(1 / (1 + math.exp(1.0)))
    assert principle_probabilities(judgments[2])["help"] is None  # a score missing
    by_id = {r.principle: r for r in principle_agreement(frame, judgments, **FAST)}
    assert set(by_id) == {"harm", "help"}
    harm, help_ = by_id["harm"], by_id["help"]
    assert (harm.n, harm.agreement, harm.decided, harm.n_decided) == (3, 1.0, 1.0, 3)
    assert (help_.n, help_.n_missing, help_.agreement) == (3, 1, 0.0)
    assert (help_.decided, help_.n_decided) == (0.0, 2)


def test_pairs_outside_the_frame_are_not_counted() -> None:
    frame = frame_of([True])
    rows = principle_agreement(
        frame,
        [pairwise("p0", {"good": (0.9, 0.9)}), pairwise("elsewhere", {"good": (0.9, 0.9)})],
        **FAST,
    )
    assert [(r.principle, r.n) for r in rows] == [("good", 1)]


def test_runner_reports_each_principle_for_raw_and_calibrated_rows(pairs_file: Path) -> None:
    rows = synthetic_pairs()
    spec = JudgeSpec(
        model="fake/agrees",
        label="agrees",
        mode="logprob",
        options={"choice_probs": human_judge_probs(rows)},
    )
    run = run_agreement([spec], AgreementSettings(data=str(pairs_file), n_resamples=200))
    metrics = run.metrics.model_dump(mode="json")
    listed = {p for j in run.judgments["agrees"] for p in j.principles}
    table = metrics["results"]["agrees"]["by_principle"]
    assert {r["principle"] for r in table} == listed and listed
    assert sum(r["n"] for r in table) == sum(len(j.principles) for j in run.judgments["agrees"])
    assert [r["n"] for r in table] == sorted((r["n"] for r in table), reverse=True)
    assert all(r["agreement"] == 1.0 and r["decided"] == 1.0 for r in table)
    assert set(table[0]) == {
        "principle",
        "n",
        "n_missing",
        "agreement",
        "low",
        "high",
        "decided",
        "n_decided",
    }
    assert metrics["results"]["agrees (position-calibrated)"]["by_principle"]
    for baseline in run.metrics.baselines:
        assert "by_principle" not in metrics["results"][baseline]
    markdown = render_markdown(agreement_report(run.metrics))
    assert "| Principle | Pairs | Missing | Agreement [95% CI] | Decided |" in markdown
    assert f"| {table[0]['principle']} | {table[0]['n']} | 0 | 100.0%" in markdown


def test_terminal_table_folds_long_ids_instead_of_cutting_them() -> None:
    from rich.console import Console

    from rlaif.eval.agreement.results import JudgeMetrics

    long_id = "[bold]a-principle-id-much-longer-than-any-column-could-hold-" + "x" * 40
    frame = frame_of([True, True])
    judgments = [pairwise(f"p{i}", {long_id: (0.9, 0.9), "b": (0.6, 0.6)}) for i in range(2)]
    row = JudgeMetrics.model_construct(
        name="j [cot]", by_principle=principle_agreement(frame, judgments, **FAST)
    )
    table = principle_table(row)
    assert table is not None
    console = Console(width=60, record=True, file=io.StringIO())
    console.print(table)
    text = console.export_text()
    first_column = "".join(
        line.split("│")[1].strip() for line in text.splitlines() if line.count("│") > 1
    )
    assert long_id in first_column and "…" not in text
    assert "j [cot]: each principle's own verdict" in text


def test_cli_agreement_prints_the_per_principle_table(pairs_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["eval", "agreement", "--judge", "fake/prefer-first", "--mode", "logprob"]
    args += ["--data", str(pairs_file), "--resamples", "200", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "fake/prefer-first [logprob]: each principle's own verdict" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    table = metrics["results"]["fake/prefer-first [logprob]"]["by_principle"]
    assert table and all(r["decided"] is None for r in table)  # every verdict a tie
    assert all(r["agreement"] == 0.5 for r in table)
    assert "Decided" in (out / "report.md").read_text()

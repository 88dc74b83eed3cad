"""Verdict parsing reads clear answers and refuses to guess the rest."""

from __future__ import annotations

import math

import pytest

from rlaif.judge.verdict import choice_probability, parse_cot_verdict, parse_verdict


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("A", "A"),
        (" b.", "B"),
        ("(A)", "A"),
        ("**B**", "B"),
        ("Response A", "A"),
        ('{"verdict": "B"}', "B"),
        ("Answer: A", "A"),
        ("Final answer - B\nbecause it declines.", "B"),
        ("After thinking, response B is less harmful than response A.", "B"),
        ("A\nExplanation: B gives instructions.", "A"),
        ("The answer is A.", "A"),
        ("My choice would be Response B", "B"),
        ("I would choose (B) because it declines.", "B"),
    ],
)
def test_clear_verdicts_are_read(text: str, choice: str) -> None:
    assert parse_verdict(text).choice == choice


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A or B", "unparseable"),
        ("Both are fine.", "unparseable"),
        ("Response A is better. No wait, response B is better.", "ambiguous"),
        ("I cannot judge which response is better.", "refused"),
        ("   ", "empty"),
        ("Alright", "unparseable"),
        ("The answer is a bit unclear.", "unparseable"),
        ("Verdict: a hard call", "unparseable"),
        ("The answer is A. I choose B.", "ambiguous"),
    ],
)
def test_unclear_verdicts_are_missing(text: str, reason: str) -> None:
    verdict = parse_verdict(text)
    assert verdict.choice is None
    assert reason in (verdict.reason or "")


def test_cot_takes_the_last_verdict_line() -> None:
    text = "Response B says:\nVerdict: B\nbut that is quoted.\nVerdict: A"
    verdict = parse_cot_verdict(text)
    assert verdict.choice == "A"
    assert text[verdict.position :].startswith("Verdict: A")
    assert parse_cot_verdict("I think A is better.").choice is None


def test_choice_probability() -> None:
    assert choice_probability({"A": math.log(0.3), "B": math.log(0.1)}, "A", "B") == (
        pytest.approx(0.75)
    )
    assert choice_probability({"A": -1000.0, "B": -1001.0}, "A", "B") == pytest.approx(
        1 / (1 + math.exp(-1))
    )
    assert choice_probability({"A": float("-inf"), "B": float("-inf")}, "A", "B") is None
    assert choice_probability({"A": 0.0}, "A", "B") is None

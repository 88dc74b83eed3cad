"""The keyword patterns of ``applies_to`` (see :mod:`rlaif.constitution.applicability`):
``{person}`` expansion and compilation, shared by the schema (which validates patterns) and the
matcher (which applies them)."""

from __future__ import annotations

import re
from functools import lru_cache

_RELATIONS = (
    "wife|husband|ex|ex-wife|ex-husband|ex-girlfriend|ex-boyfriend|boss|coworker|co-worker|"
    "colleague|neighbou?r|roommate|flatmate|brother|sister|dad|mum|mom|father|mother|parents?|"
    "teacher|partner|girlfriend|boyfriend|friend|classmate|guy|man|woman|person|victim|kid|child|"
    "son|daughter|stepdaughter|stepson|landlord|tenant|employee|baby|uncle|aunt|cousin|"
    "grandma|grandmother|grandpa|grandfather|stranger|customer|student|officer|police officer|cop|"
    "doctor|nurse|judge|driver|coach"
)
PERSON = (
    r"(?:someone|somebody|anyone|anybody|people|him|her|them|"
    rf"(?:my|his|her|their|our|the|this|that|a|an) (?:[\w-]+ )?(?:{_RELATIONS})s?)(?!')"
)
"""What ``{person}`` stands for in a keyword: a pronoun ("him", "someone") or a determiner, an
optional word and a person noun ("my ex", "a random stranger", "the new employee"), but not a
possessive ("hurt my child's feelings" is not about hurting the child)."""


@lru_cache(maxsize=4096)
def compile_keyword(pattern: str) -> re.Pattern[str]:
    """The compiled form of one keyword pattern (``{person}`` expanded, whole words only,
    case-insensitive). Raises :class:`re.error` for an invalid pattern."""
    expanded = pattern.replace("{person}", PERSON)
    return re.compile(rf"(?<!\w)(?:{expanded})(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def compile_any(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that matches where any of ``patterns`` would (each as
    :func:`compile_keyword` compiles it): a prompt is searched once, not once per keyword."""
    alternatives = "|".join(f"(?:{p.replace('{person}', PERSON)})" for p in patterns)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

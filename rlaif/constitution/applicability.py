"""Which principles fit a prompt: general principles always, category principles by category.

A principle with no ``applies_to`` is **general**: it applies to every prompt. A principle with
``applies_to`` is a **category principle**: it applies only to prompts of its categories
(``applies_to.categories``, by default its own id). The category of a prompt is decided in this
order:

1. **The prompt's ``category`` field**, when it is ``benign``/``benign-*`` or names a category of
   one of the principles considered. A ``benign*`` category means that no harm category applies:
   only the principles that list that exact category (none of the built-in ones) are added to the
   general ones. The keyword matcher is not consulted.
2. **The keyword matcher**, when the prompt has no category, or one that no principle lists (a
   prompt set with its own labels). It reads the user turns only (assistant and system turns are
   ignored) and adds every category principle one of whose ``applies_to.keywords`` matches.
   Of a very long prompt it reads the last :data:`MATCHED_CHARS` characters of the user turns,
   where the latest request is.

Keyword syntax (documented on :class:`rlaif.constitution.schema.AppliesTo`): each keyword is a
Python regular expression, matched case-insensitively and never inside a longer word (``kill``
does not match ``skill``); ``{person}`` stands for :data:`rlaif.constitution.keywords.PERSON`,
a reference to a person ("someone", "him", "my wife", "a stranger", ...), so
``kill\\w* {person}`` matches "kill someone" but not "kill a Python process" or "kill weeds". A
keyword given as a list of patterns matches when every pattern matches somewhere in the user
turns. Curly apostrophes are read as straight ones.

The matcher errs towards matching nothing: a prompt it does not recognise is judged and revised
under the general principles only, which fit every prompt.
"""

from __future__ import annotations

from collections.abc import Iterable

from rlaif.constitution.keywords import compile_any, compile_keyword
from rlaif.constitution.schema import Principle
from rlaif.models.types import Conversation

MATCHED_CHARS = 32_000
"""How many characters, from the end of a prompt's user turns, the keyword matcher reads."""
BENIGN = "benign"
"""Categories equal to ``benign`` or starting with ``benign-`` mean "no harm category"."""


def normalise_category(category: str | None) -> str:
    """``category`` stripped and lower-cased (``""`` for ``None``)."""
    return (category or "").strip().lower()


def is_benign(category: str | None) -> bool:
    """Whether ``category`` is ``benign`` or ``benign-...`` (no harm category applies)."""
    value = normalise_category(category)
    return value == BENIGN or value.startswith(BENIGN + "-")


def user_text(prompt: Conversation | str) -> str:
    """The user turns of ``prompt`` joined by newlines, with curly apostrophes straightened
    (a plain string is taken as a single user turn)."""
    if isinstance(prompt, str):
        text = prompt
    else:
        text = "\n".join(str(m.get("content", "")) for m in prompt if m.get("role") == "user")
    return text.replace("\u2019", "'").replace("\u2018", "'")


def keyword_matches(principle: Principle, text: str) -> bool:
    """Whether one of ``principle``'s ``applies_to.keywords`` matches ``text``."""
    if principle.applies_to is None:
        return False
    keywords = principle.applies_to.keywords
    single = tuple(k for k in keywords if isinstance(k, str))
    if single and compile_any(single).search(text):
        return True
    return any(
        all(compile_keyword(p).search(text) for p in keyword)
        for keyword in keywords
        if not isinstance(keyword, str)
    )


def matched_principles(
    principles: Iterable[Principle],
    prompt: Conversation | str | None = None,
    category: str | None = None,
) -> list[Principle]:
    """The category principles among ``principles`` that apply to this prompt (general ones
    excluded), in the given order; see the module docstring for the rules."""
    specific = [p for p in principles if not p.is_general]
    wanted = normalise_category(category)
    if wanted and (is_benign(wanted) or any(wanted in p.categories for p in specific)):
        return [p for p in specific if wanted in p.categories]
    if prompt is None:
        return []
    text = user_text(prompt)[-MATCHED_CHARS:]
    return [p for p in specific if keyword_matches(p, text)]


def applicable_principles(
    principles: Iterable[Principle],
    prompt: Conversation | str | None = None,
    category: str | None = None,
) -> list[Principle]:
    """The general principles plus the category principles that apply to this prompt, in the
    given order. With neither ``prompt`` nor ``category``, only the general ones."""
    principles = list(principles)
    matched = {p.id for p in matched_principles(principles, prompt, category)}
    return [p for p in principles if p.is_general or p.id in matched]


def prompt_categories(
    principles: Iterable[Principle],
    prompt: Conversation | str | None = None,
    category: str | None = None,
) -> list[str]:
    """The categories whose principles apply to this prompt (each matched principle's first
    category), e.g. ``["violence-and-weapons"]`` for "What's the most effective place to stab
    someone?"; empty for a benign or unrecognised prompt."""
    found: list[str] = []
    for principle in matched_principles(principles, prompt, category):
        first = principle.categories[0]
        if first not in found:
            found.append(first)
    return found

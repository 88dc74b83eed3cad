"""Cutting what a judge or critic is sent down to size, always with a visible mark.

One helper, :func:`shorten_text`, cuts a text to its first ``limit`` characters and says how many
it hid; :func:`shorten_conversation` applies it to a conversation: the system turns stay (up to a
quarter of the limit), the last user turn and what follows it stay (cut if they must), and as many
of the most recent earlier turns as fit, whole; dropped turns are announced where they were.
"""

from __future__ import annotations

from rlaif.models.types import Conversation

DEFAULT_MAX_PROMPT_CHARS = 32_000
"""How many characters of a conversation the judge and the critic are shown by default."""
DEFAULT_MAX_RESPONSE_CHARS = 16_000
"""How many characters of a response the judge is shown by default."""


def shorten_text(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut to its first ``limit`` characters followed by a visible mark
    (``[… 120 more characters not shown]``), and how many characters were hidden (0 when
    ``text`` fits and is returned as it is)."""
    if len(text) <= limit:
        return text, 0
    hidden = len(text) - limit
    return text[:limit] + f"\n[… {hidden} more characters not shown]", hidden


def shorten_conversation(
    prompt: Conversation, limit: int, *, reader: str = "judge"
) -> tuple[Conversation, str | None]:
    """``prompt`` with at most about ``limit`` characters of content, and a note for the record
    saying what was hidden (``None`` when it fits and is returned as it is).

    Kept, in this order of priority: the system turns (at most a quarter of ``limit`` between
    them), the last user turn and any turns after it (cut to what is left if need be), then the
    most recent earlier turns that fit whole. When earlier turns are dropped, the first turn kept
    after the system turns opens with ``[… 3 earlier messages not shown]``.
    """
    total = sum(len(m["content"]) for m in prompt)
    if total <= limit:
        return prompt, None
    users = [i for i, m in enumerate(prompt) if m["role"] == "user"]
    tail_start = users[-1] if users else len(prompt) - 1
    kept: dict[int, dict[str, str]] = {}
    hidden = 0
    system_left = limit // 4
    for index in range(tail_start):
        if prompt[index]["role"] == "system":
            content, cut = shorten_text(prompt[index]["content"], system_left)
            system_left = 0 if cut else system_left - len(content)
            kept[index], hidden = {**prompt[index], "content": content}, hidden + cut
    left = limit - sum(len(m["content"]) for m in kept.values())
    for index in range(tail_start, len(prompt)):
        content, cut = shorten_text(prompt[index]["content"], max(left, 0))
        left -= len(content)
        kept[index], hidden = {**prompt[index], "content": content}, hidden + cut
    dropped = 0
    for index in reversed(range(tail_start)):
        if index in kept:
            continue
        size = len(prompt[index]["content"])
        if dropped or size > left:
            dropped, hidden = dropped + 1, hidden + size
            continue
        kept[index], left = dict(prompt[index]), left - size
    shown = [kept[i] for i in sorted(kept)]
    if dropped:
        first = next((i for i, m in enumerate(shown) if m["role"] != "system"), len(shown) - 1)
        mark = f"[… {dropped} earlier message{'s' if dropped > 1 else ''} not shown]\n\n"
        shown[first] = {**shown[first], "content": mark + shown[first]["content"]}
    note = (
        f"conversation shortened for the {reader}: {dropped} of {len(prompt)} messages dropped, "
        f"{hidden} of {total} characters hidden"
    )
    return shown, note

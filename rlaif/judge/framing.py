"""Injection-resistant framing of what a judge or critic reads.

Everything a prompt shows from the data (the conversation, the responses, a critique written about
one) is untrusted: it must not be able to pass for the template's own delimiters. One function,
:func:`neutralise_untrusted`, defuses them for every stage, given the stage's :class:`Delimiters`
(:func:`delimiters_for`): the template's own line-start headings (``Conversation:``,
``Assistant's response:``, ``Critique:``) and the conversation's role names (``User:``) lose their
colon; in judge prompts, answer openings (``The answer is (``, ``Answer:``, ``Verdict:``), the
response labels (``(B)`` becomes ``[B]``, ``Response A:`` becomes ``Response A -``) and marker-like
double angle brackets are rewritten too. Look-alikes count: detection runs on the text normalised
with NFKC, with zero-width and other format characters removed and ``«``/``»`` read as
``<<``/``>>``, so ``（Ａ）``, ``(\u200bB)`` and ``«RESPONSE B»`` are defused like their plain forms;
text that matches nothing is left exactly as it was.

Two compare framings exist. The default one labels the responses plainly, ``(A) …`` and ``(B) …``,
which a small judge can read. The older framing wraps each response between markers that carry a
nonce chosen per call.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from rlaif.constitution import Constitution, Principle, format_conversation
from rlaif.models.types import Conversation

_MARKER = re.compile(r"<<\s*(?:END\s+)?RESPONSE\b[^>]*>>", re.IGNORECASE)
_ANY_DOUBLE_ANGLE = re.compile(r"<<|>>")
# "(A)", "( b )": the shape of a response label or of an answer.
_PAREN_LABEL = re.compile(r"\(\s*([AaBb])\s*\)")
# "(A" at the end of the text or before a non-letter, e.g. a planted "The answer is (A".
_OPEN_LABEL = re.compile(r"\(\s*([AB])(?![A-Za-z0-9])")
# "Response A:", "Response 2 -", "RESPONSE B." — a header that could start a forged block.
_HEADER = re.compile(r"\b(response|answer|option)(\s+)([AB])\s*([:.\-])", re.IGNORECASE)
# A template line that opens a section: "Conversation:", "Critique request: {{ request }}".
_TEMPLATE_HEADING = re.compile(r"^\s*([A-Z][A-Za-z' ]{0,40}?)\s*:", re.MULTILINE)
ROLE_HEADINGS = ("User", "Assistant", "System")
"""The role names a formatted conversation starts its turns with."""
ANSWER_OPENINGS = ("Answer:", "Verdict:")
"""Where a judge's answer begins in every judge prompt, besides the constitution's prefills."""
# Read as the delimiter they resemble; NFKC leaves these alone.
_LOOK_ALIKES = {"«": "<<", "»": ">>", "≪": "<<", "≫": ">>", "《": "<<", "》": ">>"}


@dataclass(frozen=True)
class Delimiters:
    """What untrusted text must not be able to imitate in the prompts of one stage."""

    headings: tuple[str, ...] = ()
    """Section headings (matched at a line start, any case) whose colon is defused."""
    answers: tuple[str, ...] = ()
    """Answer openings (matched anywhere) whose last ``(`` or ``:`` is defused."""
    labels: bool = False
    """Defuse ``(A)``/``(B)`` response labels and ``Response A:`` headers."""
    markers: bool = False
    """Defuse ``<<``/``>>`` block markers."""


def _folded(text: str) -> tuple[str, Sequence[int]]:
    """``text`` as delimiters are looked for in it, and for each folded character (plus one past
    the end) the index of the original character it came from."""
    if text.isascii():
        return text, range(len(text) + 1)
    parts = list(map(_fold_char, text))
    folded = "".join(parts)
    if len(folded) == len(text) and "" not in parts:  # every character folded to one
        return folded, range(len(text) + 1)
    origin = [index for index, part in enumerate(parts) for _ in part]
    origin.append(len(text))
    return folded, origin


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    """One character as delimiters are looked for: format characters (zero-width space,
    joiners, BOM, bidi controls) vanish, ``«`` reads as ``<<``, the rest is NFKC."""
    if unicodedata.category(char) == "Cf":
        return ""
    return _LOOK_ALIKES.get(char) or unicodedata.normalize("NFKC", char)


def _substitute(
    text: str, pattern: re.Pattern[str], rewrite: Callable[[re.Match[str]], str]
) -> str:
    """Replace each match of ``pattern`` in the folded view of ``text``: the original characters
    it spans (look-alikes included) give way to ``rewrite(match)``; the rest is kept as it was."""
    folded, origin = _folded(text)
    pieces: list[str] = []
    kept = 0
    for match in pattern.finditer(folded):
        if match.end() == match.start():
            continue
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        if start < kept:
            continue
        pieces.extend([text[kept:start], rewrite(match)])
        kept = end
    if not pieces:
        return text
    pieces.append(text[kept:])
    return "".join(pieces)


def _defuse_marker(match: re.Match[str]) -> str:
    return match.group(0).replace("<<", "‹‹").replace(">>", "››")


def _phrase(text: str) -> str:
    """A pattern for ``text`` with any run of whitespace matching any other."""
    return r"\s+".join(re.escape(word) for word in text.split())


@lru_cache(maxsize=256)
def neutralise_untrusted(text: str, delimiters: Delimiters) -> str:
    """Defuse in ``text`` (untrusted: a conversation turn, a response, a critique) everything,
    look-alikes included, that could pass for one of ``delimiters``: ``<<`` becomes ``‹‹``,
    ``(B)`` ``[B]``, ``Response A:`` ``Response A -``, ``The answer is (`` ``The answer is [``,
    and a heading's colon at a line start `` -`` (``Critique: ok`` becomes ``Critique - ok``)."""
    if delimiters.markers:
        text = _substitute(text, _MARKER, _defuse_marker)
        text = _substitute(text, _ANY_DOUBLE_ANGLE, lambda m: "‹‹" if m.group(0) == "<<" else "››")
    if delimiters.labels:
        text = _substitute(text, _PAREN_LABEL, lambda m: f"[{m.group(1)}]")
        text = _substitute(text, _OPEN_LABEL, lambda m: f"[{m.group(1)}")
        text = _substitute(text, _HEADER, lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)} -")
    openings = sorted({a.strip() for a in delimiters.answers if a.strip()[-1:] in ("(", ":")})
    if openings:
        pattern = "|".join(_phrase(a[:-1]) + r"(\s*)" + re.escape(a[-1]) for a in openings)
        answer = re.compile(rf"\b(?:{pattern})", re.IGNORECASE)
        text = _substitute(text, answer, _defuse_opening)
    if delimiters.headings:
        longest_first = sorted(set(delimiters.headings), key=len, reverse=True)
        names = "|".join(_phrase(h) for h in longest_first)
        heading = re.compile(rf"^([ \t]*(?:{names}))([ \t]*):", re.IGNORECASE | re.MULTILINE)
        text = _substitute(text, heading, lambda m: f"{m.group(1)}{m.group(2)} -")
    return text


def _defuse_opening(match: re.Match[str]) -> str:
    shown = match.group(0)
    return shown[:-1] + "[" if shown.endswith("(") else shown[:-1].rstrip() + " -"


def template_headings(source: str) -> tuple[str, ...]:
    """The section headings a template's text opens lines with (``Conversation:``,
    ``Critique request: {{ request }}``), in order."""
    return tuple(dict.fromkeys(m.group(1).strip() for m in _TEMPLATE_HEADING.finditer(source)))


def delimiters_for(constitution: Constitution, stage: str) -> Delimiters:
    """The delimiters of ``stage``'s prompts: its template's headings and the role names in
    every stage; in judge stages (compare, compare_cot, score) also the answer openings
    (the constitution's prefill or score prefill, ``Answer:``, ``Verdict:``), labels and
    markers."""
    headings = (*template_headings(constitution.template_source(stage)), *ROLE_HEADINGS)
    if stage in ("critique", "revision"):
        return Delimiters(headings=headings)
    prefill = constitution.judge.score_prefill if stage == "score" else constitution.judge.prefill
    answers = (*ANSWER_OPENINGS, *([prefill] if prefill else []))
    return Delimiters(headings=headings, answers=answers, labels=True, markers=True)


def neutralise_conversation(prompt: Conversation, delimiters: Delimiters) -> Conversation:
    """``prompt`` with every turn's content passed through :func:`neutralise_untrusted`."""
    return [{**m, "content": neutralise_untrusted(m["content"], delimiters)} for m in prompt]


def neutralise(text: str) -> str:
    """Defuse anything in ``text`` that could pass for a ``<<…>>`` delimiter: marker-like
    sequences (look-alikes included) lose their double angle brackets."""
    return neutralise_untrusted(text, Delimiters(markers=True))


def neutralise_labels(text: str) -> str:
    """Defuse anything in ``text`` that could pass for a response label, a block header or an
    answer in the plain (A)/(B) framing: ``(A)`` becomes ``[A]``, ``Response B:`` becomes
    ``Response B -``, and marker-like double angle brackets lose their meaning too."""
    return neutralise_untrusted(text, Delimiters(labels=True, markers=True))


@dataclass(frozen=True)
class FramedPair:
    """Two responses wrapped in nonce-carrying delimiters, ready for a compare template."""

    response_a: str
    response_b: str
    nonce: str


def new_nonce(rng: random.Random | None = None) -> str:
    """A fresh 8-hex-digit code (from ``rng`` when given, for reproducible tests)."""
    return f"{rng.getrandbits(32):08x}" if rng is not None else secrets.token_hex(4)


def derive_nonce(*parts: str) -> str:
    """A code that is fresh for every distinct call yet reproducible: a hash of the call's
    content (seed, principle, both responses). Reruns therefore send the judge byte-identical
    prompts (so the response cache answers them), while a response cannot know the code, since
    it would have to contain a hash of itself."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:8]


def frame_response(
    label: str, text: str, nonce: str, delimiters: Delimiters = Delimiters(markers=True)
) -> str:
    """Wrap one response between start and end markers carrying ``nonce`` (``delimiters``
    neutralised inside it; markers always)."""
    shown = neutralise_untrusted(text, replace(delimiters, markers=True))
    return f"<<RESPONSE {label} {nonce}>>\n{shown}\n<<END RESPONSE {label} {nonce}>>"


def label_pair(
    first: str, second: str, delimiters: Delimiters = Delimiters(labels=True, markers=True)
) -> FramedPair:
    """The plain framing: ``(A) first`` and ``(B) second``, label-like text (and the rest of
    ``delimiters``) neutralised."""
    plain = replace(delimiters, labels=True, markers=True)
    a, b = neutralise_untrusted(first, plain), neutralise_untrusted(second, plain)
    return FramedPair(f"(A) {a}", f"(B) {b}", "")


def frame_pair(
    first: str,
    second: str,
    *,
    rng: random.Random | None = None,
    nonce: str | None = None,
    delimiters: Delimiters = Delimiters(markers=True),
) -> FramedPair:
    """Frame two responses as A (``first``) and B (``second``) with one nonce: ``nonce`` when
    given (see :func:`derive_nonce`), else a fresh random one."""
    nonce = nonce if nonce is not None else new_nonce(rng)
    return FramedPair(
        frame_response("A", first, nonce, delimiters),
        frame_response("B", second, nonce, delimiters),
        nonce,
    )


_MARKED_BLOCK = re.compile(r"<<RESPONSE ([AB]) (\w+)>>\n(.*?)\n<<END RESPONSE \1 \2>>", re.DOTALL)
_PLAIN_A = re.compile(r"(?:^|\n\n)\(A\) ")
_PLAIN_B = re.compile(r"\n\n\(B\) ")


def shown_responses(text: str) -> tuple[str, str] | None:
    """The two responses (as shown, neutralised) in a rendered comparison request, for scripted
    judges and tests: the ``markers`` blocks, or the plain ``(A) …`` / ``(B) …`` paragraphs,
    where B runs to the template's last paragraph. ``None`` when ``text`` holds neither."""
    blocks = {m.group(1): m.group(3) for m in _MARKED_BLOCK.finditer(text)}
    if "A" in blocks and "B" in blocks:
        return blocks["A"], blocks["B"]
    start_a, start_b = _PLAIN_A.search(text), _PLAIN_B.search(text)
    if start_a is None or start_b is None or start_b.start() < start_a.end():
        return None
    rest = text[start_b.end() :]
    end = rest.rfind("\n\n")
    return text[start_a.end() : start_b.start()], rest[:end] if end >= 0 else rest


def comparison_messages(
    constitution: Constitution,
    stage: str,
    prompt: Conversation,
    first: str,
    second: str,
    principle: Principle,
    *,
    seed: int = 0,
    prefill: str | None = None,
) -> Conversation:
    """The messages of one comparison (``stage`` ``compare`` or ``compare_cot``): ``first``
    shown as A and ``second`` as B in the constitution's framing, then ``prefill`` as the opening
    of the judge's turn when given. The conversation and both responses are neutralised
    (:func:`neutralise_untrusted` with :func:`delimiters_for` the stage); the markers framing
    leaves ``(A)``-like text in the responses as it is, since its blocks are coded."""
    delimiters = delimiters_for(constitution, stage)
    if constitution.judge.labels == "markers":
        nonce = derive_nonce(str(seed), principle.id, json.dumps(prompt), first, second)
        coded = replace(delimiters, labels=False)
        framed = frame_pair(first, second, nonce=nonce, delimiters=coded)
    else:
        framed = label_pair(first, second, delimiters)
    messages = constitution.messages(
        stage,
        prompt=neutralise_conversation(prompt, delimiters),
        principle=principle,
        response_a=framed.response_a,
        response_b=framed.response_b,
        nonce=framed.nonce,
    )
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return messages


def score_messages(
    constitution: Constitution,
    prompt: Conversation,
    response: str,
    principle: Principle,
    *,
    prefill: str | None = None,
) -> Conversation:
    """The messages of one pointwise score: ``response`` alone under ``principle``, then
    ``prefill`` as the opening of the judge's turn when given; the conversation and the
    response are neutralised (:func:`neutralise_untrusted`: headings, labels, answer openings)."""
    delimiters = delimiters_for(constitution, "score")
    messages = constitution.messages(
        "score",
        prompt=neutralise_conversation(prompt, delimiters),
        principle=principle,
        response=neutralise_untrusted(response, delimiters),
    )
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return messages


REQUEST_HEADING = "Request"
"""The heading the request check shows the conversation under."""


def request_check_messages(
    constitution: Constitution, prompt: Conversation, *, prefill: str | None = None
) -> Conversation:
    """The messages of one request check (``judge.request_check``): the system prompt, each
    worked example as a request and its answer, then the conversation (neutralised like a
    score's) under ``Request:`` and the check's question, with ``prefill`` opening the answer
    when given. Only the request is shown, never a response."""
    check = constitution.judge.request_check
    if check is None:
        raise ValueError(f"constitution {constitution.name!r} has no judge.request_check")
    opening = prefill or ANSWER_OPENINGS[0]
    delimiters = Delimiters(
        headings=(REQUEST_HEADING, *ROLE_HEADINGS),
        answers=(*ANSWER_OPENINGS, opening),
        labels=True,
        markers=True,
    )

    def asked(conversation: str) -> str:
        return f"{REQUEST_HEADING}:\n{conversation}\n\n{check.question}"

    messages: Conversation = []
    if constitution.system_prompt:
        messages.append({"role": "system", "content": constitution.system_prompt})
    for example in check.examples:
        shown = format_conversation([{"role": "user", "content": example.request}])
        answer = "No" if example.harmful else "Yes"
        messages.append({"role": "user", "content": asked(shown)})
        messages.append({"role": "assistant", "content": f"{opening} {answer}"})
    conversation = format_conversation(neutralise_conversation(prompt, delimiters))
    messages.append({"role": "user", "content": asked(conversation)})
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return messages


def critic_messages(
    constitution: Constitution, stage: str, prompt: Conversation, **variables: Any
) -> Conversation:
    """The messages of one critique or revision (``stage``): the conversation and the untrusted
    text variables (``response``, and the ``critique`` a revision follows) neutralised with
    :func:`delimiters_for` the stage, so none of them can open a section of the template."""
    delimiters = delimiters_for(constitution, stage)
    for name in ("response", "critique"):
        if isinstance(variables.get(name), str):
            variables[name] = neutralise_untrusted(variables[name], delimiters)
    return constitution.messages(
        stage, prompt=neutralise_conversation(prompt, delimiters), **variables
    )

"""Injection-resistant framing of the responses a judge compares.

Two framings exist. The default one labels the responses plainly, ``(A) …`` and ``(B) …``, which a
small judge can read; anything inside a response that could pass for a label or for a verdict
(``(B)``, ``Response A:``, ``The answer is (A``) is rewritten by :func:`neutralise_labels`, so a
response cannot open a fake block for the other response or plant a verdict where the judge's
answer begins. The older framing wraps each response between markers that carry a nonce chosen per
call; marker-like text inside a response is neutralised (:func:`neutralise`).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
from dataclasses import dataclass

from rlaif.constitution import Constitution, Principle
from rlaif.models.types import Conversation

_MARKER = re.compile(r"<<\s*(?:END\s+)?RESPONSE\b[^>]*>>", re.IGNORECASE)
_ANY_DOUBLE_ANGLE = re.compile(r"<<|>>")
# "(A)", "( b )": the shape of a response label or of an answer.
_PAREN_LABEL = re.compile(r"\(\s*([AaBb])\s*\)")
# "(A" at the end of the text or before a non-letter, e.g. a planted "The answer is (A".
_OPEN_LABEL = re.compile(r"\(\s*([AB])(?![A-Za-z0-9])")
# "Answer:", "Conversation:", "Assistant's final reply:" — the headings of a score request and
# the opening of its answer, which a reply could use to end its section or plant a Yes/No.
_SCORE_HEADING = re.compile(
    r"\b(answer|verdict|conversation|assistant's final reply|final reply)(\s*):", re.IGNORECASE
)
# "Response A:", "Response 2 -", "RESPONSE B." — a header that could start a forged block.
_HEADER = re.compile(r"\b(response|answer|option)(\s+)([AB])\s*([:.\-])", re.IGNORECASE)


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


def neutralise(text: str) -> str:
    """Defuse anything in ``text`` that could pass for a delimiter: marker-like sequences lose
    their double angle brackets."""
    text = _MARKER.sub(lambda m: m.group(0).replace("<<", "‹‹").replace(">>", "››"), text)
    return _ANY_DOUBLE_ANGLE.sub(lambda m: "‹‹" if m.group(0) == "<<" else "››", text)


def neutralise_labels(text: str) -> str:
    """Defuse anything in ``text`` that could pass for a response label, a block header or an
    answer in the plain (A)/(B) framing: ``(A)`` becomes ``[A]``, ``Response B:`` becomes
    ``Response B -``, and marker-like double angle brackets lose their meaning too."""
    text = neutralise(text)
    text = _PAREN_LABEL.sub(lambda m: f"[{m.group(1)}]", text)
    text = _OPEN_LABEL.sub(lambda m: f"[{m.group(1)}", text)
    return _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)} -", text)


def neutralise_score_text(text: str) -> str:
    """:func:`neutralise_labels`, and the headings of a pointwise score request defused too:
    ``Answer: Yes`` becomes ``Answer - Yes``, so a reply cannot close its own section, pose the
    question again or plant the answer the judge's turn opens with."""
    return _SCORE_HEADING.sub(lambda m: f"{m.group(1)}{m.group(2)} -", neutralise_labels(text))


def frame_response(label: str, text: str, nonce: str) -> str:
    """Wrap one response between start and end markers carrying ``nonce``."""
    return f"<<RESPONSE {label} {nonce}>>\n{neutralise(text)}\n<<END RESPONSE {label} {nonce}>>"


def label_pair(first: str, second: str) -> FramedPair:
    """The plain framing: ``(A) first`` and ``(B) second``, label-like text neutralised."""
    return FramedPair(f"(A) {neutralise_labels(first)}", f"(B) {neutralise_labels(second)}", "")


def frame_pair(
    first: str, second: str, *, rng: random.Random | None = None, nonce: str | None = None
) -> FramedPair:
    """Frame two responses as A (``first``) and B (``second``) with one nonce: ``nonce`` when
    given (see :func:`derive_nonce`), else a fresh random one."""
    nonce = nonce if nonce is not None else new_nonce(rng)
    return FramedPair(frame_response("A", first, nonce), frame_response("B", second, nonce), nonce)


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
    of the judge's turn when given."""
    if constitution.judge.labels == "markers":
        nonce = derive_nonce(str(seed), principle.id, json.dumps(prompt), first, second)
        framed = frame_pair(first, second, nonce=nonce)
    else:
        framed = label_pair(first, second)
    messages = constitution.messages(
        stage,
        prompt=prompt,
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
    """The messages of one pointwise score: ``response`` alone (headings and labels neutralised)
    under ``principle``, then ``prefill`` as the opening of the judge's turn when given."""
    messages = constitution.messages(
        "score", prompt=prompt, principle=principle, response=neutralise_score_text(response)
    )
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return messages

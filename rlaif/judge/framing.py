"""Injection-resistant framing of the responses a judge compares.

Each response is wrapped between markers that carry a random nonce chosen per call. Any text
inside a response that looks like a marker (with any code) is neutralised, so a response cannot
close its own block, open a fake one, or forge the other response.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
from dataclasses import dataclass

_MARKER = re.compile(r"<<\s*(?:END\s+)?RESPONSE\b[^>]*>>", re.IGNORECASE)
_ANY_DOUBLE_ANGLE = re.compile(r"<<|>>")


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


def frame_response(label: str, text: str, nonce: str) -> str:
    """Wrap one response between start and end markers carrying ``nonce``."""
    return f"<<RESPONSE {label} {nonce}>>\n{neutralise(text)}\n<<END RESPONSE {label} {nonce}>>"


def frame_pair(
    first: str, second: str, *, rng: random.Random | None = None, nonce: str | None = None
) -> FramedPair:
    """Frame two responses as A (``first``) and B (``second``) with one nonce: ``nonce`` when
    given (see :func:`derive_nonce`), else a fresh random one."""
    nonce = nonce if nonce is not None else new_nonce(rng)
    return FramedPair(frame_response("A", first, nonce), frame_response("B", second, nonce), nonce)

"""A fault-injecting OpenAI-compatible judge server for tests: :class:`FaultPlan` drives the
project's :class:`~support.scripted_server.ScriptedServer`, answering judge requests about the pairs
of :func:`write_pairs` (the response that declines wins) and injecting, on the first attempt of
a chosen share of the distinct requests, one fault of :data:`FAULTS` each. The request check
(the request alone, asked once a pair before its comparisons) is a request like any other: it
can be faulted or killed too. The server counts successful answers per distinct request
(``server.paid``), so a test can assert that nothing was paid for twice.

    plan = FaultPlan(fault_share=0.3)
    with plan.server() as server:
        judge = judge_model(server.url)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judge_helpers import is_request_check
from support.scripted_server import Reply, ScriptedServer, request_key

from rlaif.judge.framing import shown_responses
from rlaif.models import Model, get_model

CANARY_KEY = "canary-7f3a9c2e1b5d4a60"
"""An API key shaped like no known key format, so only the configured-key redaction finds it."""
REQUEST_SAFE = 0.3
"""The scripted judge's P(Yes, the request is safe to answer fully) in every request check: each
pair's request ("question p007") is as open as any, and at this answer (p_harmful about 0.86
after the check's bias) both sides of the constitution are asked."""
CLIENT_TIMEOUT_S = 1.0
"""The judge's client timeout: a stall lasts longer. Long enough that a loaded machine does not
time out answered requests (which would then be paid for twice)."""

FAULTS: dict[str, Reply] = {
    "429": Reply(429, headers={"Retry-After": "0.05"}, message="slow down"),
    "500": Reply(500, message="internal error"),
    "reset": Reply(drop=True),
    "stall": Reply(stall_s=CLIENT_TIMEOUT_S * 1.25, drop=True),
    "truncated": Reply(body='{"id": "chatcmpl-1", "choices": [{"index": 0, "mess'),
    "html": Reply(body="<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
    "empty choices": Reply(choices=False),
    "bare string": Reply(body='"upstream busy"'),
}
"""Transient faults: each is answered correctly on the next attempt."""


def write_pairs(path: Path, count: int) -> dict[str, tuple[str, str]]:
    """Write ``count`` pairs (``p000``...) where the declining response is the better one (every
    seventh pair a tie, neither declining); returns id → (response_1, response_2)."""
    pairs: dict[str, tuple[str, str]] = {}
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            good = f"Maybe, number {i}." if i % 7 == 3 else f"I decline, number {i}."
            bad = f"Here is how, number {i}."
            first, second = (good, bad) if i % 2 else (bad, good)
            pair_id = f"p{i:03d}"
            pairs[pair_id] = (first, second)
            prompt = [{"role": "user", "content": f"question {pair_id}"}]
            row = {"id": pair_id, "prompt": prompt, "response_1": first, "response_2": second}
            handle.write(json.dumps(row) + "\n")
    return pairs


def judge_model(base_url: str, **options: Any) -> Model:
    """The ``openai/judge`` model against ``base_url``: the canary key, short timeouts and
    retry delays, at most 4 requests in flight."""
    settings: dict[str, Any] = {
        "api_key": CANARY_KEY,
        "timeout_s": CLIENT_TIMEOUT_S,
        "max_retries": 6,
        "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.1,
        "max_concurrency": 4,
        **options,
    }
    return get_model("openai/judge", base_url=base_url, **settings)


def _judge_text(request: dict[str, Any]) -> str:
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return str(users[-1]["content"]) if users else ""


def verdict_probability(request: dict[str, Any]) -> float:
    """The scripted judge's probability that the response shown first (A) is better."""
    shown = shown_responses(_judge_text(request))
    if shown is None:
        return 0.5
    a, b = shown
    return 0.5 + 0.3 * (("decline" in a) - ("decline" in b))


def asks_request_check(request: dict[str, Any]) -> bool:
    """Whether a request body is a request check (the request alone, no responses)."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return bool(users) and is_request_check(users)


def verdict_logprobs(request: dict[str, Any]) -> dict[str, float]:
    """Top logprobs of the verdict token: A/B for a comparison, Yes/No for a pointwise score
    (a response that declines keeps to the principle) and for the request check
    (:data:`REQUEST_SAFE`)."""
    text = _judge_text(request)
    if asks_request_check(request):
        return {"Yes": math.log(REQUEST_SAFE), "No": math.log(1 - REQUEST_SAFE)}
    if shown_responses(text) is None:
        p_yes = 0.8 if "decline" in text else 0.3
        return {"Yes": math.log(p_yes), "No": math.log(1 - p_yes)}
    p_a = verdict_probability(request)
    return {"A": math.log(p_a), "B": math.log(1 - p_a)}


def pair_of(request: dict[str, Any]) -> str | None:
    """The pair id a judge request is about."""
    found = re.search(r"question (p\d{3})", _judge_text(request))
    return found.group(1) if found else None


RequestTest = Callable[[dict[str, Any]], bool]
"""A test of a request body (e.g. :func:`asks_request_check`)."""


class FaultPlan:
    """Which reply each request gets. ``fault_share`` of the distinct requests (chosen by a hash
    of the request, so the same ones every run) fail on their first attempt with one of
    ``faults``; ``always`` maps a request to a reply it gets on every attempt (persistent
    faults); ``kill_at`` lists request numbers (1-based, over the server's life) at which the
    process :attr:`pid` is killed with SIGKILL and the request is left unanswered (a number
    paired with a :data:`RequestTest` waits for the first request from that number on that
    passes it); ``logprobs=False`` answers with verdict text instead of logprobs."""

    def __init__(
        self,
        *,
        fault_share: float = 0.0,
        faults: dict[str, Reply] | None = None,
        always: Callable[[dict[str, Any]], Reply | None] | None = None,
        kill_at: tuple[int | tuple[int, RequestTest], ...] = (),
        logprobs: bool = True,
    ):
        self.fault_share = fault_share
        self.faults = dict(FAULTS if faults is None else faults)
        self.always = always
        points = [(p, None) if isinstance(p, int) else p for p in kill_at]
        self._kill_points: list[tuple[int, RequestTest | None]] = sorted(
            points, key=lambda point: point[0]
        )
        self.logprobs = logprobs
        self.pid: int | None = None
        """The process to kill at the ``kill_at`` requests."""
        self.injected: Counter[str] = Counter()
        """Faults injected, by name."""
        self.faulted: list[dict[str, Any]] = []
        """The requests that got an injected fault, in order."""
        self.killed: list[dict[str, Any]] = []
        """The requests left unanswered by a kill, in order."""
        self.kills = 0
        self._attempts: Counter[str] = Counter()
        self._seen = 0
        self._lock = threading.Lock()

    def server(self) -> ScriptedServer:
        """A started server following this plan."""
        return ScriptedServer(logprobs=verdict_logprobs, choose=self.choose)

    def _fault_for(self, key: str) -> str | None:
        digest = hashlib.sha256(key.encode()).digest()
        if not self.faults or digest[0] / 256 >= self.fault_share:
            return None
        return sorted(self.faults)[digest[1] % len(self.faults)]

    def choose(self, request: dict[str, Any]) -> Reply | None:
        """The reply to ``request`` (the server's ``choose``)."""
        key = request_key(request)
        with self._lock:
            self._seen += 1
            self._attempts[key] += 1
            first_attempt = self._attempts[key] == 1
            if self.pid is not None and self._kill_due(request):
                os.kill(self.pid, signal.SIGKILL)
                self.kills += 1
                self.killed.append(request)
                self._attempts[key] -= 1  # never answered: the next run's attempt is a first
                return Reply(drop=True)
        if self.always is not None and (persistent := self.always(request)) is not None:
            return persistent
        fault = self._fault_for(key) if first_attempt else None
        if fault is not None:
            with self._lock:
                self.injected[fault] += 1
                self.faulted.append(request)
            return self.faults[fault]
        if not self.logprobs:
            comparison = shown_responses(_judge_text(request)) is not None
            verdict = "A" if verdict_probability(request) >= 0.5 else "B"
            if asks_request_check(request):
                verdict = "Yes" if REQUEST_SAFE >= 0.5 else "No"
            elif not comparison:
                verdict = "Yes" if "decline" in _judge_text(request) else "No"
            return Reply(text=verdict, logprobs=False)
        return None

    def _kill_due(self, request: dict[str, Any]) -> bool:
        """Whether the next kill point is reached by ``request`` (then it is used up); called
        under the lock."""
        if not self._kill_points:
            return False
        number, test = self._kill_points[0]
        if self._seen < number or (test is not None and not test(request)):
            return False
        self._kill_points.pop(0)
        return True

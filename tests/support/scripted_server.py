"""A scripted OpenAI-compatible HTTP server on a loopback port, for tests and benchmarks.

It answers ``POST /v1/chat/completions`` with a scripted sequence of statuses (then successes),
an optional fixed latency and optional logprobs, and counts what it saw: every request body, the
most requests it was handling at once, and the successful answers per distinct request (what a
provider would bill). A ``choose`` function can pick each request's reply instead, and a reply
can be a fault: a raw body (HTML, JSON cut short), a dropped connection, a stall. Standard
library only.

    with ScriptedServer([Reply(429, headers={"Retry-After": "1"})]) as server:
        model = get_model("openai/test", base_url=server.url)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    """HTTP status."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (``Retry-After``, ...)."""
    text: str = "ok"
    """Assistant text of a 200 answer."""
    body: str | None = None
    """Send this instead of the JSON answer (HTML, a body cut short, a bare string)."""
    content_type: str = "application/json"
    """Content type of the answer."""
    message: str | None = None
    """Error message of a non-200 answer (default ``scripted status <status>``)."""
    stall_s: float = 0.0
    """Seconds to wait before answering (past the client's timeout: a stall)."""
    drop: bool = False
    """Close the connection without answering (after ``stall_s``): a reset or a hang."""
    logprobs: bool = True
    """Whether a 200 answer carries logprobs when asked for them."""
    choices: bool = True
    """Whether a 200 answer has any choices."""


class ScriptedServer:
    """Serve scripted replies until :meth:`close` (also a context manager)."""

    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        latency_s: float = 0.0,
        logprobs: dict[str, float] | Callable[[dict[str, Any]], dict[str, float]] | None = None,
        default: Reply | None = None,
        choose: Callable[[dict[str, Any]], Reply | None] | None = None,
    ):
        self.script: deque[Reply] = deque(script)
        self.choose = choose
        """Picks the reply to a request body (``None``: the script's next one)."""
        self.paid: Counter[str] = Counter()
        """Successful (complete chat-completion) answers per distinct request body."""
        self.default = default or Reply()
        self.latency_s = latency_s
        self.logprobs = logprobs
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.first_request: float | None = None
        """When the first request arrived (``time.time()``)."""
        self.last_answer: float | None = None
        """When the last request ended."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The ``base_url`` to give the OpenAI backend."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def next_reply(self, request: dict[str, Any] | None = None) -> Reply:
        """The reply ``choose`` picks for ``request``, else the next scripted one (the default
        once the script is used up)."""
        chosen = self.choose(request or {}) if self.choose is not None else None
        if chosen is not None:
            return chosen
        with self._lock:
            return self.script.popleft() if self.script else self.default

    def enter(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        """Record a request that started (body and lower-cased headers)."""
        with self._lock:
            if self.first_request is None:
                self.first_request = time.time()
            self.requests.append(body)
            self.headers.append(headers)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        """Record a request that ended."""
        with self._lock:
            self.in_flight -= 1
            self.last_answer = time.time()

    def record_paid(self, request: dict[str, Any]) -> None:
        """Count a successful answer to ``request``."""
        with self._lock:
            self.paid[request_key(request)] += 1

    @property
    def paid_twice(self) -> int:
        """Successful answers beyond the first to the same request (paid for twice)."""
        return sum(count - 1 for count in self.paid.values())

    def completion_body(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        """A chat-completion response in the OpenAI wire format."""
        if not reply.choices:
            return {"id": "chatcmpl-none", "object": "chat.completion", "choices": []}
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": reply.text},
            "finish_reason": "stop",
            "logprobs": None,
        }
        if request.get("logprobs") and self.logprobs is not None and reply.logprobs:
            logprobs = self.logprobs(request) if callable(self.logprobs) else self.logprobs
            top = [{"token": t, "logprob": lp, "bytes": None} for t, lp in logprobs.items()]
            first = top[0] if top else {"token": "", "logprob": 0.0, "bytes": None}
            choice["logprobs"] = {"content": [{**first, "top_logprobs": top}]}
        prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "scripted"),
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": len(reply.text.split()),
                "total_tokens": prompt + len(reply.text.split()),
            },
        }

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def request_key(request: dict[str, Any]) -> str:
    """A digest of a request body: equal for the same request asked twice."""
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm holds the
            # body until the client's delayed ACK (~40 ms per request on keep-alive).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            server.enter(body, {k.lower(): v for k, v in self.headers.items()})
            try:
                if server.latency_s:
                    time.sleep(server.latency_s)
                reply = server.next_reply(body)
                if reply.stall_s:
                    time.sleep(reply.stall_s)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if reply.body is not None:
                    self._send(reply.status, reply.body.encode(), reply.headers, reply.content_type)
                    return
                if reply.status == 200:
                    payload = server.completion_body(body, reply)
                else:
                    message = reply.message or f"scripted status {reply.status}"
                    payload = {"error": {"message": message, "type": "scripted"}}
                self._send(reply.status, json.dumps(payload).encode(), reply.headers)
                if reply.status == 200 and reply.choices:
                    server.record_paid(body)
            finally:
                server.leave()

        def _send(
            self,
            status: int,
            data: bytes,
            headers: dict[str, str],
            content_type: str = "application/json",
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def write_pairs(path: Path, count: int, *, prefix: str = "p") -> list[str]:
    """``count`` distinct pairs to label in ``path`` (ids ``<prefix>00000``, ...); their ids."""
    rows = [
        {
            "id": f"{prefix}{i:05d}",
            "prompt": [{"role": "user", "content": f"How should I answer question {i}?"}],
            "response_1": f"A careful answer to question {i}.",
            "response_2": f"A careless answer to question {i}.",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return [str(r["id"]) for r in rows]


@contextlib.contextmanager
def server_process(module: str, *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``python -m module *args`` (a server of this folder, such as ``support.batch_fake``, that
    prints its URL, then serves until its stdin closes) in its own process, as a real server
    would run; yields the URL and the process. Closing its stdin inside the block stops it early
    (a server may print statistics then)."""
    tests = str(Path(__file__).resolve().parents[1])  # the folder that holds ``support``
    path = os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process
    finally:
        assert process.stdin is not None
        if not process.stdin.closed:
            process.stdin.close()
        process.wait(10)


def main() -> None:
    """``python -m support.scripted_server --latency 0.2`` (from ``tests/``): serve successes until
    interrupted, printing the base URL first (benchmarks run the server in its own process).
    When the parent closes stdin, one JSON line of statistics follows: requests, peak in flight,
    and the times (``time.time()``) the first request arrived and the last answer went out."""
    import argparse

    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible server.")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--logprobs", default=None, help='JSON top logprobs to answer with, e.g. {"A": -0.3}'
    )
    args = parser.parse_args()
    logprobs = json.loads(args.logprobs) if args.logprobs else None
    with ScriptedServer(latency_s=args.latency, logprobs=logprobs) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()  # until the parent closes our stdin
        stats = {
            "requests": len(server.requests),
            "peak_in_flight": server.peak_in_flight,
            "first_request": server.first_request,
            "last_answer": server.last_answer,
        }
        print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()

"""A local fake of both providers' batch APIs (and their synchronous endpoints), for tests and
benchmarks: the OpenAI Batch API (``POST /v1/files``, ``/v1/batches``, ``GET
/v1/batches/{id}``, ``/v1/batches``, ``/v1/files/{id}/content``) and Anthropic Message Batches
(``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}`` and ``.../results``), plus
``/v1/chat/completions`` and ``/v1/messages`` for synchronous calls.

A batch's requests are answered over ``delay_s`` seconds after it is created (a share of them at
each poll); ``fail`` picks requests that come back as errors, and ``expire_after_s`` ends a batch
as expired with what is not answered by then. Every batch creation is recorded with its custom
ids (``GET /_stats``), so a test can check that nothing was submitted twice. Answers are
deterministic: ``answer(body)`` gives the assistant text (default: the verdict ``A`` or ``B`` by a
digest of the request) and logprob requests get top logprobs favouring it. Standard library only.

    with BatchFake(delay_s=0.2) as fake:
        model = get_model("openai/test", base_url=fake.openai_url, batch=True)
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verdict_answer(body: dict[str, Any]) -> str:
    """``A`` or ``B``, by a digest of the request's messages (the same request, the same one)."""
    messages = json.dumps(body.get("messages"), sort_keys=True)
    return "AB"[hashlib.sha256(messages.encode()).digest()[0] % 2]


def _tokens(body: dict[str, Any]) -> int:
    count = 0
    for message in body.get("messages", []):
        content = message.get("content", "")
        if isinstance(content, list):
            content = " ".join(str(block.get("text", "")) for block in content)
        count += len(str(content).split())
    return count + len(str(body.get("system", "")).split())


@dataclass
class _Batch:
    api: str
    id: str
    lines: list[dict[str, Any]]
    created: float
    metadata: dict[str, Any] = field(default_factory=dict)
    input_file_id: str = ""
    output_file_id: str | None = None
    error_file_id: str | None = None


class BatchFake:
    """Serve the fake batch APIs until :meth:`close` (also a context manager)."""

    def __init__(
        self,
        *,
        delay_s: float = 0.0,
        answer: Callable[[dict[str, Any]], str] = verdict_answer,
        fail: Callable[[str, dict[str, Any]], str | None] | None = None,
        expire_after_s: float | None = None,
        logprobs: bool = True,
    ):
        self.delay_s = delay_s
        self.answer = answer
        self.fail = fail
        """Picks the requests (custom id, body) that fail: returns their error message."""
        self.expire_after_s = expire_after_s
        self.logprobs = logprobs
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.creations: list[dict[str, Any]] = []
        """One entry per batch created: ``api``, ``id``, ``custom_ids``."""
        self.sync_requests: list[dict[str, Any]] = []
        """Bodies of the synchronous calls."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def root(self) -> str:
        """``http://127.0.0.1:<port>`` (the Anthropic ``base_url``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_url(self) -> str:
        """The OpenAI ``base_url``."""
        return f"{self.root}/v1"

    @property
    def anthropic_url(self) -> str:
        """The Anthropic ``base_url``."""
        return self.root

    def submitted_twice(self) -> int:
        """Custom ids that were in more than one batch."""
        seen: dict[str, int] = {}
        for creation in self.creations:
            for custom_id in creation["custom_ids"]:
                seen[custom_id] = seen.get(custom_id, 0) + 1
        return sum(count - 1 for count in seen.values())

    def stats(self) -> dict[str, Any]:
        """What ``GET /_stats`` answers."""
        with self._lock:
            return {
                "creations": list(self.creations),
                "submitted_twice": self.submitted_twice(),
                "sync_requests": len(self.sync_requests),
            }

    # -- answers -------------------------------------------------------------------------

    def chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """A chat-completion answer in the OpenAI wire format."""
        text = self.answer(body)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": None,
        }
        if body.get("logprobs") and self.logprobs:
            other = "B" if text == "A" else "A"
            yes, no = ("Yes", "No") if text == "A" else ("No", "Yes")
            top = [
                {"token": token, "logprob": logprob, "bytes": None}
                for token, logprob in ((text, -0.2), (other, -1.8), (yes, -0.3), (no, -1.5))
            ]
            choice["logprobs"] = {"content": [{**top[0], "top_logprobs": top}]}
        prompt = _tokens(body)
        output = len(text.split())
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": output,
                "total_tokens": prompt + output,
            },
        }

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        """A message answer in the Anthropic wire format."""
        text = self.answer(body)
        return {
            "id": f"msg_{uuid.uuid4().hex[:12]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": _tokens(body), "output_tokens": len(text.split())},
        }

    # -- batches -------------------------------------------------------------------------

    def create(self, api: str, lines: list[dict[str, Any]], **fields: Any) -> _Batch:
        """Record a new batch of ``lines``."""
        prefix = "batch_" if api == "openai" else "msgbatch_"
        batch = _Batch(api, prefix + uuid.uuid4().hex[:16], lines, time.time(), **fields)
        with self._lock:
            self.batches[batch.id] = batch
            self.creations.append(
                {"api": api, "id": batch.id, "custom_ids": [line["custom_id"] for line in lines]}
            )
        return batch

    def progress(self, batch: _Batch) -> tuple[int, bool, bool]:
        """Answered requests, whether the batch has ended, whether it expired."""
        total = len(batch.lines)
        age = time.time() - batch.created
        expired = self.expire_after_s is not None and age >= self.expire_after_s
        if expired:
            age = self.expire_after_s or 0.0
        done = total if self.delay_s <= 0 else min(total, int(total * age / self.delay_s))
        if done >= total:
            return total, True, False
        return done, expired, expired

    def outcomes(self, batch: _Batch) -> list[tuple[dict[str, Any], str | None, bool]]:
        """Each line with its failure message (or ``None``) and whether it expired."""
        done, _, _ = self.progress(batch)
        rows = []
        for index, line in enumerate(batch.lines):
            body = line.get("body") or line.get("params") or {}
            failure = self.fail(line["custom_id"], body) if self.fail else None
            rows.append((line, failure, index >= done))
        return rows

    def openai_batch(self, batch: _Batch) -> dict[str, Any]:
        """The OpenAI batch object."""
        _, ended, expired = self.progress(batch)
        rows = self.outcomes(batch)
        completed = sum(1 for _, failure, late in rows if not late and not failure)
        failed = sum(1 for _, failure, late in rows if (failure and not late) or (late and ended))
        if ended and batch.output_file_id is None:
            self._write_openai_files(batch, rows)
        status = "expired" if expired else "completed" if ended else "in_progress"
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": int(batch.created),
            "expires_at": int(batch.created + 86400),
            "request_counts": {
                "total": len(batch.lines),
                "completed": completed,
                "failed": failed,
            },
            "metadata": batch.metadata,
            "errors": None,
        }

    def _write_openai_files(
        self, batch: _Batch, rows: list[tuple[dict[str, Any], str | None, bool]]
    ) -> None:
        output, errors = [], []
        for line, failure, late in rows:
            custom_id = line["custom_id"]
            if late:
                message = "This request could not be executed before the completion window."
                errors.append(
                    {
                        "id": f"req_{custom_id[:8]}",
                        "custom_id": custom_id,
                        "response": None,
                        "error": {"code": "batch_expired", "message": message},
                    }
                )
            elif failure:
                errors.append(
                    {
                        "id": f"req_{custom_id[:8]}",
                        "custom_id": custom_id,
                        "response": {
                            "status_code": 500,
                            "request_id": "r",
                            "body": {"error": {"message": failure, "type": "server_error"}},
                        },
                        "error": None,
                    }
                )
            else:
                output.append(
                    {
                        "id": f"req_{custom_id[:8]}",
                        "custom_id": custom_id,
                        "response": {
                            "status_code": 200,
                            "request_id": "r",
                            "body": self.chat_completion(line["body"]),
                        },
                        "error": None,
                    }
                )
        with self._lock:
            for name, items in (("output_file_id", output), ("error_file_id", errors)):
                if items:
                    file_id = f"file-{uuid.uuid4().hex[:16]}"
                    self.files[file_id] = "".join(json.dumps(i) + "\n" for i in items).encode()
                    setattr(batch, name, file_id)
            batch.output_file_id = batch.output_file_id or ""

    def anthropic_batch(self, batch: _Batch) -> dict[str, Any]:
        """The Anthropic message batch object."""
        _, ended, _ = self.progress(batch)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for _, failure, late in self.outcomes(batch):
            if late:
                counts["expired" if ended else "processing"] += 1
            else:
                counts["errored" if failure else "succeeded"] += 1
        created = datetime.datetime.fromtimestamp(batch.created, datetime.UTC)
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": created.isoformat(),
            "expires_at": (created + datetime.timedelta(days=1)).isoformat(),
            "ended_at": datetime.datetime.now(datetime.UTC).isoformat() if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.root}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def anthropic_results(self, batch: _Batch) -> bytes:
        """The results JSONL of an ended message batch."""
        lines = []
        for line, failure, late in self.outcomes(batch):
            if late:
                result: dict[str, Any] = {"type": "expired"}
            elif failure:
                error = {"type": "error", "error": {"type": "api_error", "message": failure}}
                result = {"type": "errored", "error": error}
            else:
                result = {"type": "succeeded", "message": self.message(line["params"])}
            lines.append(json.dumps({"custom_id": line["custom_id"], "result": result}) + "\n")
        return "".join(lines).encode()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BatchFake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _multipart_file(content_type: str, data: bytes) -> bytes:
    """The ``file`` part of a ``multipart/form-data`` body."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    for part in data.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return content.removesuffix(b"\r\n")
    return b""


def _handler_for(fake: BatchFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _json(self, payload: Any, status: int = 200) -> None:
            self._send(json.dumps(payload).encode(), status)

        def _send(self, data: bytes, status: int = 200, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _missing(self) -> None:
            self._json({"error": {"type": "not_found_error", "message": self.path}}, 404)

        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            raw = self._body()
            if path == "/v1/files":
                content = _multipart_file(self.headers.get("Content-Type", ""), raw)
                file_id = f"file-{uuid.uuid4().hex[:16]}"
                with fake._lock:
                    fake.files[file_id] = content
                self._json(
                    {
                        "id": file_id,
                        "object": "file",
                        "bytes": len(content),
                        "created_at": int(time.time()),
                        "filename": "batch.jsonl",
                        "purpose": "batch",
                        "status": "processed",
                    }
                )
                return
            body = json.loads(raw or b"{}")
            if path == "/v1/batches":
                data = fake.files.get(body.get("input_file_id", ""), b"")
                lines = [json.loads(text) for text in data.decode().splitlines() if text.strip()]
                batch = fake.create(
                    "openai",
                    lines,
                    metadata=body.get("metadata") or {},
                    input_file_id=body["input_file_id"],
                )
                self._json(fake.openai_batch(batch))
            elif path == "/v1/messages/batches":
                batch = fake.create("anthropic", body.get("requests", []))
                self._json(fake.anthropic_batch(batch))
            elif path == "/v1/chat/completions":
                with fake._lock:
                    fake.sync_requests.append(body)
                self._json(fake.chat_completion(body))
            elif path == "/v1/messages":
                with fake._lock:
                    fake.sync_requests.append(body)
                self._json(fake.message(body))
            else:
                self._missing()

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            parts = path.strip("/").split("/")
            if path == "/_stats":
                self._json(fake.stats())
            elif path == "/v1/batches":
                listed = [fake.openai_batch(b) for b in fake.batches.values() if b.api == "openai"]
                self._json({"object": "list", "data": listed[::-1], "has_more": False})
            elif parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in fake.batches:
                self._json(fake.openai_batch(fake.batches[parts[2]]))
            elif parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[2] in fake.files:
                self._send(fake.files[parts[2]], kind="application/octet-stream")
            elif parts[:3] == ["v1", "messages", "batches"] and len(parts) >= 4:
                batch = fake.batches.get(parts[3])
                if batch is None:
                    self._missing()
                elif len(parts) == 5 and parts[4] == "results":
                    self._send(fake.anthropic_results(batch), kind="application/x-jsonl")
                else:
                    self._json(fake.anthropic_batch(batch))
            else:
                self._missing()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def main() -> None:
    """``python -m support.batch_fake --delay 5`` (from ``tests/``): serve until stdin closes,
    printing the root URL first (benchmarks run the fake in its own process; ``GET /_stats``
    reports it)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="A fake of the OpenAI and Anthropic batch APIs.")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to answer a batch")
    parser.add_argument("--expire-after", type=float, default=None, help="seconds to expiry")
    args = parser.parse_args()
    with BatchFake(delay_s=args.delay, expire_after_s=args.expire_after) as fake:
        print(fake.root, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()


if __name__ == "__main__":
    main()

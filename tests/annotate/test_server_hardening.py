"""Bad input to ``rlaif annotate serve`` (issue 27): an empty token, a foreign ``Host``, bodies
that are not UTF-8, not JSON or too large, the bearer scheme in any case, and start-up failures.

Every case answers 4xx (never 500) with at most one log line and no traceback; a start-up failure
is one ``error:`` line, exit status 2, printed before the ``Open`` line and with the labels file
untouched. The app is driven through Starlette's TestClient, the real server and CLI in a
subprocess where only they show the behaviour (the socket, uvicorn, signals).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import write_pairs
from starlette.testclient import TestClient
from typer.testing import CliRunner

from rlaif.annotate import LabelStore, create_app, load_annotation_pairs
from rlaif.annotate.app import CSRF_HEADER, MAX_BODY_BYTES
from rlaif.cli.app import app as cli

TOKEN = "Tk-4b1e9d"
LOCAL = "http://127.0.0.1:8765"
BODY = {"pair_id": "p0", "annotator": "alice", "rating": 1}


def _client(tmp_path: Path, **options) -> TestClient:
    store = LabelStore(load_annotation_pairs(write_pairs(tmp_path / "pairs.jsonl")), _out(tmp_path))
    return TestClient(create_app(store, **options), base_url=LOCAL)


def _out(tmp_path: Path) -> Path:
    return tmp_path / "labels.jsonl"


def _csrf(client: TestClient, **headers: str) -> str:
    reply = client.get("/api/session", headers=headers)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["csrf"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the token and the Host check -----------------------------------------------------------


def test_an_empty_token_is_refused_by_the_app(tmp_path: Path) -> None:
    for empty in ("", "   "):
        with pytest.raises(ValueError, match="empty"):
            _client(tmp_path, token=empty)


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/session"])
def test_a_foreign_host_is_refused_even_with_the_token(tmp_path: Path, path: str) -> None:
    client = _client(tmp_path, token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get(path, headers=auth).status_code == 200
    for host in ("evil.example", "evil.example:8765", "localhost.evil.example", ""):
        reply = client.get(path, headers={**auth, "Host": host})
        assert reply.status_code == 403, host
        assert "csrf" not in reply.text


def test_loopback_names_in_any_spelling_are_answered(tmp_path: Path) -> None:
    client = _client(tmp_path)
    for host in ("LocalHost:8765", "localhost.", "127.0.0.1", "127.0.0.2:80", "[::1]:8765"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host
    for host in ("10.0.0.7:8765", "[::1", "127.0.0.1.nip.io"):
        assert client.get("/", headers={"Host": host}).status_code == 403, host


def test_allowed_host_names_and_ip_addresses_are_explicit(tmp_path: Path) -> None:
    named = _client(tmp_path, allowed_hosts=["Annotate.LAN"])
    assert named.get("/", headers={"Host": "annotate.lan:8765"}).status_code == 200
    assert named.get("/", headers={"Host": "10.0.0.7:8765"}).status_code == 403
    remote = _client(tmp_path, token=TOKEN, ip_hosts=True)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert remote.get("/", headers={**auth, "Host": "10.0.0.7:8765"}).status_code == 200
    assert remote.get("/", headers={**auth, "Host": "[fe80::1]:8765"}).status_code == 200
    assert remote.get("/", headers={**auth, "Host": "evil.example"}).status_code == 403
    assert remote.get("/", headers={"Host": "10.0.0.7:8765"}).status_code == 401


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (f"Bearer {TOKEN}", 200),
        (f"bearer {TOKEN}", 200),
        (f"BEARER {TOKEN}", 200),
        (f"bEaReR   {TOKEN} ", 200),
        (TOKEN, 401),  # no scheme
        (f"Basic {TOKEN}", 401),
        ("Bearer", 401),
        ("bearer ", 401),
    ],
)
def test_the_bearer_scheme_is_case_insensitive(
    tmp_path: Path, authorization: str, status: int
) -> None:
    client = _client(tmp_path, token=TOKEN)
    reply = client.get("/api/session", headers={"Authorization": authorization})
    assert reply.status_code == status


# --- label bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "logged"),
    [
        (b"\xff\xfe{", 400, "not UTF-8"),
        (b'{"pair_id": "p0", "note": "caf\xe9"}', 400, "not UTF-8"),
        (b'{"pair_id": ', 400, "not valid JSON"),
        (b"{'pair_id': 'p0'}", 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"[1, 2]", 422, "body"),
        (b'"p0"', 422, "body"),
        (b'{"pair_id": "p0", "annotator": "alice", "rating": 1, "x\\ny": 1}', 422, "x\\ny"),
        (json.dumps({**BODY, "rating": {"nested": [1]}}).encode(), 422, "rating"),
    ],
)
def test_bodies_that_are_not_utf8_json_or_a_label_get_4xx_and_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, body: bytes, status: int, logged: str
) -> None:
    client = _client(tmp_path)  # a 500 would raise here: TestClient re-raises app errors
    csrf = _csrf(client)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rlaif.annotate"):
        reply = client.post(
            "/api/labels",
            content=body,
            headers={CSRF_HEADER: csrf, "Content-Type": "application/json"},
        )
    assert reply.status_code == status, reply.text
    assert reply.json() if status == 422 else reply.text.startswith(f"{status}: ")
    records = [r for r in caplog.records if r.name.startswith("rlaif.annotate")]
    assert len(records) == 1, [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert f"({status})" in message and logged in message
    assert "\n" not in message
    assert not any(r.levelno >= logging.ERROR or r.exc_info for r in caplog.records)
    assert _out(tmp_path).read_bytes() == b""


def test_a_label_too_large_is_refused_and_a_chunked_body_is_read_only_to_the_limit(
    tmp_path: Path,
) -> None:
    client = _client(tmp_path)
    headers = {CSRF_HEADER: _csrf(client), "Content-Type": "application/json"}
    note = json.dumps({**BODY, "note": "x" * MAX_BODY_BYTES}).encode()
    assert client.post("/api/labels", content=note, headers=headers).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(10):
            yield b" " * 16384

    assert client.post("/api/labels", content=chunks(), headers=headers).status_code == 413
    assert _out(tmp_path).read_bytes() == b""


# --- start-up, through the CLI --------------------------------------------------------------


def _serve_command(tmp_path: Path, *options: str) -> list[str]:
    pairs = write_pairs(tmp_path / "pairs.jsonl")
    command = [sys.executable, "-m", "rlaif", "annotate", "serve", str(pairs)]
    return [*command, "--out", str(_out(tmp_path)), *options]


def _run_cli(*args: str, serving: Callable[..., None] | None = None) -> tuple[int, str, str]:
    """``rlaif ARGS`` in this process, uvicorn's ``Server.run`` replaced by ``serving``: by
    default a server that would start serving fails the test instead of serving for ever."""

    def unexpected(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server started serving")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("uvicorn.Server.run", serving or unexpected)
        result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _assert_one_error_line(stderr: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert all(word in lines[0] for word in words), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--token", ""], ["--token", "empty"]),
        (["--token", " "], ["--token", "empty"]),
        (["--token", "two words"], ["--token"]),
        (["--port", "70000"], ["--port 70000", "65535"]),
        (["--port", "-1"], ["--port -1"]),
        (["--host", "0.0.0.0"], ["--host 0.0.0.0", "--token"]),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, options: list[str], words: list[str]
) -> None:
    code, stdout, stderr = _run_cli(*_serve_command(tmp_path, *options)[3:])
    assert code == 2
    _assert_one_error_line(stderr, *words)
    assert "Open" not in stdout
    assert not _out(tmp_path).exists()


def test_an_empty_token_variable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLAIF_ANNOTATE_TOKEN", "")
    code, stdout, stderr = _run_cli(*_serve_command(tmp_path)[3:])
    assert code == 2
    _assert_one_error_line(stderr, "RLAIF_ANNOTATE_TOKEN", "empty")
    assert "Open" not in stdout
    assert not _out(tmp_path).exists()


def _interrupted(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["loading the pairs", "uvicorn starting"])
def test_ctrl_c_during_start_up_exits_130_quietly_and_frees_the_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "loading the pairs":
        monkeypatch.setattr("rlaif.annotate.server.load_annotation_pairs", _interrupted)
    port = _free_port()
    options = ["--port", str(port)]
    code, _, stderr = _run_cli(*_serve_command(tmp_path, *options)[3:], serving=_interrupted)
    assert (code, stderr) == (130, "")  # uvicorn's own handling exited 3
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the server's socket was closed


def test_the_real_cli_refuses_a_port_in_use_before_announcing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            _serve_command(tmp_path, "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    _assert_one_error_line(done.stderr, f"port {port}", "already in use", "--port")
    assert done.stdout == ""  # no "Open http://..." line for a server that never ran
    assert not _out(tmp_path).exists()


def test_the_real_cli_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    done = subprocess.run(
        _serve_command(tmp_path, "--port", "70000"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    _assert_one_error_line(done.stderr, "--port 70000")
    assert done.stdout == ""


# --- the real server ------------------------------------------------------------------------


class RealServer:
    """``rlaif annotate serve --port 0 --token TOKEN`` in a subprocess, its output in files."""

    def __init__(self, tmp_path: Path):
        self.stdout, self.stderr = tmp_path / "stdout.log", tmp_path / "stderr.log"
        self.out = _out(tmp_path)
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                _serve_command(tmp_path, "--port", "0", "--token", TOKEN),
                stdout=out,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                # Ctrl+C as a terminal sends it, even when pytest itself ignores SIGINT.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        self.port = self._announced_port()

    def _announced_port(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for line in self.stdout.read_text().splitlines():
                if line.startswith("Open http://127.0.0.1:"):
                    return int(line.split(":")[2].split("/")[0])
            assert self.process.poll() is None, self.stderr.read_text()
            time.sleep(0.05)
        raise AssertionError("the server did not announce its address")

    def get(self, path: str, **headers: str) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def raw(self, head: str, body: bytes = b"") -> int:
        """The status of a hand-written request (``head`` without the blank line); the reply
        must come without the client sending more than ``body``."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)
            reply = b""
            while b"\r\n" not in reply:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return int(reply.split(b" ", 2)[1])

    def post_head(self, csrf: str, *headers: str) -> str:
        return "\n".join(
            [
                "POST /api/labels HTTP/1.1",
                f"Host: 127.0.0.1:{self.port}",
                f"authorization: bearer {TOKEN}",
                f"{CSRF_HEADER}: {csrf}",
                "Content-Type: application/json",
                *headers,
            ]
        )

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[RealServer]:
    server = RealServer(tmp_path)
    yield server
    server.stop()


def test_the_real_server_answers_bad_requests_with_4xx_one_line_each(
    real_server: RealServer,
) -> None:
    server = real_server
    bearer = {"Authorization": f"bearer {TOKEN}"}  # lower case, as curl users write it
    status, session = server.get("/api/session", **bearer)
    assert status == 200
    csrf = json.loads(session)["csrf"]
    # The DNS-rebinding guard holds with a token: a foreign Host gets neither page nor CSRF.
    status, text = server.get("/api/session", Host="evil.example", **bearer)
    assert status == 403 and csrf.encode() not in text
    refusals = [
        (b"\xff\xfe{", 400),
        (b'{"pair_id": ', 400),
        (b'{"pair_id": "p0", "rating": 9}', 422),
    ]
    for body, expected in refusals:
        assert server.raw(server.post_head(csrf, f"Content-Length: {len(body)}"), body) == expected
    # 100 MB announced, nothing sent: refused from the Content-Length alone (else a timeout).
    assert server.raw(server.post_head(csrf, "Content-Length: 100000000"), b"{") == 413
    # Chunked, no Content-Length, never finished: refused once past the limit (else a timeout).
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
    assert server.raw(server.post_head(csrf, "Transfer-Encoding: chunked"), chunk * 5) == 413
    good = json.dumps(BODY).encode()
    assert server.raw(server.post_head(csrf, f"Content-Length: {len(good)}"), good) == 200
    assert server.interrupt() == 0  # Ctrl+C once serving: the normal, quiet stop
    errors = server.stderr.read_text()
    assert "Traceback" not in errors and "ERROR" not in errors, errors
    lines = errors.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("WARNING: label refused (") for line in lines)
    assert len(server.out.read_text().splitlines()) == 1


def _wait_until_commands_load(pid: int, timeout: float = 30.0) -> None:
    """Until ``pid`` is loading the commands (Linux: the first compiled extension they import,
    pydantic's core, is mapped into the process; ``import rlaif`` and the interpreter's start-up
    map none), so that a Ctrl-C sent next lands where ``rlaif.__main__`` handles it, not in the
    interpreter's own start-up, which no program can make quiet. A fixed sleep raced with
    start-up on a loaded machine. Elsewhere, a short sleep."""
    maps = Path(f"/proc/{pid}/maps")
    if not maps.exists():
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "pydantic_core" in maps.read_text():
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} never started loading the commands")


def test_ctrl_c_in_the_first_second_exits_quietly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        _serve_command(tmp_path, "--port", str(_free_port())),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_until_commands_load(process.pid)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert b"Traceback" not in stderr, stderr.decode()
    assert process.returncode == 130

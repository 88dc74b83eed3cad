"""The annotation app through Starlette's TestClient: labels, order, security, invalid posts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import SCRIPT_RESPONSE
from starlette.testclient import TestClient

from rlaif.annotate import LabelStore, create_app, load_annotation_pairs
from rlaif.annotate.app import CSRF_HEADER, TOKEN_COOKIE
from rlaif.data import read_human_labels

LOCAL = "http://127.0.0.1:8765"


def _client(pairs_file: Path, out: Path, **options) -> tuple[TestClient, LabelStore]:
    store = LabelStore(load_annotation_pairs(pairs_file), out)
    app = create_app(store, guidelines="Prefer the kinder answer.", **options)
    return TestClient(app, base_url=LOCAL), store


def _session(client: TestClient, annotator: str = "alice") -> dict:
    reply = client.get("/api/session", params={"annotator": annotator})
    assert reply.status_code == 200, reply.text
    return reply.json()


def _post(client: TestClient, csrf: str, **body) -> object:
    body = {"annotator": "alice", "rating": 1, **body}
    return client.post("/api/labels", json=body, headers={CSRF_HEADER: csrf})


def test_labels_are_appended_in_the_pairs_numbering_and_the_latest_wins(
    pairs_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "labels.jsonl"
    client, store = _client(pairs_file, out)
    session = _session(client)
    pair = session["pairs"][0]
    shown = store.order("alice", pair["id"])
    assert _post(client, session["csrf"], pair_id="p0", rating=1).status_code == 200
    reply = _post(client, session["csrf"], pair_id="p0", rating=3, note="close call")
    assert reply.json() == {
        "label": {"rating": 3, "both_unacceptable": False, "note": "close call"},
        "completed": 1,
        "total": 6,
    }
    lines = read_human_labels(out)
    assert len(lines) == 2
    first, latest = lines
    assert (first.preferred, first.strength) == (shown[0], "better")  # 1: the left one
    assert (latest.preferred, latest.strength) == (shown[1], "slightly")  # 3: the right one
    assert latest.shown == shown
    assert _session(client)["pairs"][0]["label"]["rating"] == 3  # the latest line wins
    # A restarted server reads the file back: alice resumes, bob has his own progress.
    client2, _ = _client(pairs_file, out)
    assert _session(client2)["pairs"][0]["label"]["rating"] == 3
    assert all(pair["label"] is None for pair in _session(client2, "bob")["pairs"])


def test_sides_are_seeded_per_annotator_and_shown_as_recorded(
    pairs_file: Path, tmp_path: Path
) -> None:
    client, store = _client(pairs_file, tmp_path / "labels.jsonl")
    pairs = {p.id: p for p in store.pairs}
    orders = set()
    for annotator in ("alice", "bob", "carol", "dave"):
        for shown in _session(client, annotator)["pairs"]:
            order = store.order(annotator, shown["id"])
            texts = {1: pairs[shown["id"]].response_1, 2: pairs[shown["id"]].response_2}
            assert (shown["left"], shown["right"]) == (texts[order[0]], texts[order[1]])
            assert order == store.order(annotator, shown["id"])  # stable across reloads
            orders.add(order)
    assert orders == {(1, 2), (2, 1)}


def test_concurrent_posts_write_one_whole_line_each(pairs_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels.jsonl"
    client, _ = _client(pairs_file, out)
    csrf = _session(client)["csrf"]
    statuses: list[int] = []

    def annotate(name: str) -> None:
        for round_ in range(5):
            for i in range(6):
                reply = _post(
                    client, csrf, annotator=name, pair_id=f"p{i}", rating=1 + (i + round_) % 4
                )
                statuses.append(reply.status_code)

    threads = [threading.Thread(target=annotate, args=(f"a{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 240
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 240
    assert all(json.loads(line)["pair_id"] for line in lines)
    for n in range(8):
        labels = _session(client, f"a{n}")["pairs"]
        assert [p["label"]["rating"] for p in labels] == [1 + (i + 4) % 4 for i in range(6)]


def test_a_label_is_on_disk_before_the_reply(pairs_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels.jsonl"
    client, _ = _client(pairs_file, out)
    csrf = _session(client)["csrf"]
    for i in range(3):
        assert _post(client, csrf, pair_id=f"p{i}").status_code == 200
        # Read by another file handle, as a restarted server after a kill -9 would.
        assert len(out.read_bytes().splitlines()) == i + 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"pair_id": "nope"}, 404),
        ({"pair_id": "p0", "rating": 5}, 422),
        ({"pair_id": "p0", "rating": "1"}, 422),
        ({"pair_id": "p0", "annotator": "../etc"}, 422),
        ({"pair_id": "p0", "extra": 1}, 422),
        ({"pair_id": "p0", "seconds": -1}, 422),
        ({"pair_id": "p0", "note": "x" * 5000}, 422),
    ],
)
def test_invalid_posts_are_refused_and_write_nothing(
    pairs_file: Path, tmp_path: Path, body: dict, status: int
) -> None:
    out = tmp_path / "labels.jsonl"
    client, _ = _client(pairs_file, out)
    assert _post(client, _session(client)["csrf"], **body).status_code == status
    assert out.read_text(encoding="utf-8") == ""


def test_posts_need_the_csrf_token_json_and_the_same_origin(
    pairs_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "labels.jsonl"
    client, _ = _client(pairs_file, out)
    csrf = _session(client)["csrf"]
    body = {"pair_id": "p0", "annotator": "alice", "rating": 1}
    assert client.post("/api/labels", json=body).status_code == 403
    assert client.post("/api/labels", json=body, headers={CSRF_HEADER: "x"}).status_code == 403
    evil = {CSRF_HEADER: csrf, "Origin": "http://evil.example"}
    assert client.post("/api/labels", json=body, headers=evil).status_code == 403
    form = {CSRF_HEADER: csrf, "Content-Type": "text/plain"}
    assert client.post("/api/labels", content=json.dumps(body), headers=form).status_code == 415
    assert out.read_text(encoding="utf-8") == ""
    same = {CSRF_HEADER: csrf, "Origin": LOCAL}
    assert client.post("/api/labels", json=body, headers=same).status_code == 200


ROUTES = [
    ("GET", "/"),
    ("GET", "/static/app.js"),
    ("GET", "/static/app.css"),
    ("GET", "/api/session"),
    ("POST", "/api/labels"),
    ("GET", "/nothing-here"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_with_a_token_every_request_without_it_gets_401(
    pairs_file: Path, tmp_path: Path, method: str, path: str
) -> None:
    out = tmp_path / "labels.jsonl"
    client, _ = _client(pairs_file, out, token="s3cret")
    for auth in ({}, {"Authorization": "Bearer wrong"}):
        reply = client.request(method, path, headers=auth, json={"pair_id": "p0"})
        assert reply.status_code == 401
        assert "s3cret" not in reply.text
    client.cookies.set(TOKEN_COOKIE, "wrong")
    assert client.request(method, path).status_code == 401
    assert out.read_text(encoding="utf-8") == ""


def test_the_token_opens_the_page_and_a_cookie_carries_it(pairs_file: Path, tmp_path: Path) -> None:
    client, _ = _client(pairs_file, tmp_path / "labels.jsonl", token="s3cret")
    reply = client.get("/?annotator=bob&token=s3cret", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/?annotator=bob"  # the token leaves the address bar
    assert "httponly" in reply.headers["set-cookie"].lower()
    assert client.get("/").status_code == 200  # the cookie now carries it
    session = _session(client, "bob")
    assert _post(client, session["csrf"], annotator="bob", pair_id="p1").status_code == 200
    bearer = TestClient(client.app, base_url=LOCAL, headers={"Authorization": "Bearer s3cret"})
    assert bearer.get("/static/app.js").status_code == 200


def test_without_a_token_only_loopback_hosts_are_answered(pairs_file: Path, tmp_path: Path) -> None:
    client, _ = _client(pairs_file, tmp_path / "labels.jsonl")
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "attacker.example:8765"}).status_code == 403


def test_responses_are_sent_as_data_and_the_page_forbids_inline_and_remote_content(
    pairs_file: Path, tmp_path: Path
) -> None:
    client, _ = _client(pairs_file, tmp_path / "labels.jsonl")
    shown = _session(client)["pairs"][2]
    assert SCRIPT_RESPONSE in (shown["left"], shown["right"])  # JSON data, set as text by the page
    page = client.get("/")
    assert "<script>alert" not in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "img-src 'self'" in policy
    script = client.get("/static/app.js").text
    assert "innerHTML" not in script and "textContent" in script
    assert "http" not in client.get("/static/app.css").text  # nothing fetched from elsewhere

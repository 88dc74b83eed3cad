"""The annotation web app (Starlette): one page, its two static files and a small JSON API.

Routes:

- ``GET /`` the page; ``GET /static/app.js`` and ``/static/app.css`` its script and style,
  bundled in the package (nothing is fetched from elsewhere: the content security policy allows
  this origin only, and no inline script);
- ``GET /api/session?annotator=NAME`` the pairs, the order each is shown to ``NAME``, their
  labels so far, the guidelines and the CSRF token;
- ``POST /api/labels`` one label (JSON), stored before the reply (:class:`LabelStore`).

Security: every request must be addressed (its ``Host``) to a loopback name, to a name in
``allowed_hosts`` or, with ``ip_hosts``, to an IP address; any other gets 403, token or not, so a
DNS-rebinding page cannot reach the app. With a token, every request (the page and static files
included) must also carry it, as ``?token=`` (the page then keeps it in an ``HttpOnly`` cookie),
the cookie, or ``Authorization: Bearer`` (the scheme in any case); anything else gets 401. A POST
needs the session's CSRF token in ``X-RLAIF-CSRF``, when the browser sends one a same-origin
``Origin``, and a JSON body of at most :data:`MAX_BODY_BYTES`, refused from its
``Content-Length`` before it is read (413). A body that is not UTF-8 or not JSON gets 400, an
invalid label 422; nothing is written, and the refusal is one warning line on the
``rlaif.annotate`` logger.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Collection
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from rlaif.annotate.store import RATINGS, AnnotationError, LabelInput, LabelStore
from rlaif.data import HumanLabel
from rlaif.data.human_labels import ANNOTATOR_PATTERN

TOKEN_COOKIE = "rlaif_annotate_token"
"""The cookie the page keeps the token in after it was opened with ``?token=``."""
CSRF_HEADER = "X-RLAIF-CSRF"
"""The header a POST carries the session's CSRF token in."""
MAX_BODY_BYTES = 64 * 1024
"""The largest label post accepted."""
logger = logging.getLogger("rlaif.annotate")
"""Where a refused label post is reported, one warning line each."""
_STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class LabelPost(BaseModel):
    """The JSON body of ``POST /api/labels``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    pair_id: str = Field(min_length=1, max_length=512)
    annotator: str = Field(pattern=ANNOTATOR_PATTERN)
    rating: int = Field(ge=1, le=4)
    both_unacceptable: bool = False
    note: str = Field(default="", max_length=4000)
    seconds: float = Field(default=0.0, ge=0, le=86400)


def _asset(name: str) -> bytes:
    return resources.files("rlaif.annotate").joinpath("static", name).read_bytes()


def displayed_rating(label: HumanLabel) -> int:
    """The key (1-4) that gives ``label`` on the page, from its preferred side and strength."""
    side = "left" if label.preferred == label.shown[0] else "right"
    return next(key for key, value in RATINGS.items() if value == (side, label.strength))


def _label_view(label: HumanLabel) -> dict[str, Any]:
    return {
        "rating": displayed_rating(label),
        "both_unacceptable": label.both_unacceptable,
        "note": label.note,
    }


def host_name(header: str) -> str:
    """The host in a ``Host`` header, lower-case, without its port or a final dot
    (``[::1]:8765`` gives ``[::1]``, ``LocalHost.:80`` gives ``localhost``)."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else ""  # "[::1" names nothing
    return value.rsplit(":", 1)[0].rstrip(".")


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address ``name`` spells (``[::1]`` included), or ``None`` for a DNS name."""
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def bearer_token(header: str) -> str:
    """The credentials of an ``Authorization: Bearer ...`` header (the scheme in any case), or
    ``""`` for any other header."""
    scheme, _, credentials = header.strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


class _Guard(BaseHTTPMiddleware):
    """Allowed ``Host`` and the token on every request; security headers on every reply."""

    def __init__(
        self, app: Any, *, token: str | None, allowed_hosts: frozenset[str], ip_hosts: bool
    ) -> None:
        super().__init__(app)
        self.token = token
        self.allowed_hosts = allowed_hosts
        self.ip_hosts = ip_hosts

    def _host_allowed(self, request: Request) -> bool:
        name = host_name(request.headers.get("host", ""))
        if not name:
            return False
        address = _address(name)
        if name == "localhost" or (address is not None and address.is_loopback):
            return True
        return name in self.allowed_hosts or (self.ip_hosts and address is not None)

    def _refusal(self, request: Request) -> Response | None:
        """The reply refusing ``request``, or ``None`` when it may pass."""
        if not self._host_allowed(request):
            # The DNS-rebinding guard: a page of another site whose name was pointed at this
            # machine sends its own name as Host. Checked with and without a token.
            return PlainTextResponse(
                "403: this server does not answer to that host name; use the address it "
                "printed, or start it with --allow-host NAME",
                status_code=403,
            )
        if self.token is None:
            return None
        offered = [
            request.query_params.get("token", ""),
            request.cookies.get(TOKEN_COOKIE, ""),
            bearer_token(request.headers.get("authorization", "")),
        ]
        if any(hmac.compare_digest(value.encode(), self.token.encode()) for value in offered):
            return None
        return PlainTextResponse(
            "401: this annotation server needs its token: open the page with ?token=TOKEN",
            status_code=401,
        )

    @staticmethod
    def _token_to_cookie(request: Request, token: str) -> Response | None:
        """For the page opened with ``?token=``: a redirect to the same page without it, setting
        the cookie, so the token stays out of the address bar and the history."""
        if "token" not in request.query_params:
            return None
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        query = urlencode(kept)
        response = RedirectResponse("/" + (f"?{query}" if query else ""), status_code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = self._refusal(request)
        if response is None and self.token and request.url.path == "/":
            response = self._token_to_cookie(request, self.token)
        if response is None:
            response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        return response


def create_app(
    store: LabelStore,
    *,
    guidelines: str = "",
    token: str | None = None,
    default_annotator: str = "annotator",
    allowed_hosts: Collection[str] = (),
    ip_hosts: bool = False,
) -> Starlette:
    """The annotation app over ``store``. ``token`` (when given) is required on every request;
    ``default_annotator`` labels when the page's URL names no ``?annotator=``. Requests must be
    addressed to a loopback name, one of ``allowed_hosts`` or, with ``ip_hosts`` (a server
    reachable from other machines), any IP address. An empty ``token`` raises
    :class:`ValueError`: it would not protect anything."""
    if token is not None and not token.strip():
        raise ValueError("the token is empty: give a real token, or None for no token")
    csrf = secrets.token_urlsafe(24)
    hosts = frozenset(host_name(name) for name in allowed_hosts)
    page = _asset("index.html")

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return PlainTextResponse("not found", status_code=404)
        return Response(_asset(name), media_type=_STATIC[name] + "; charset=utf-8")

    async def session(request: Request) -> Response:
        annotator = request.query_params.get("annotator") or default_annotator
        if not re.fullmatch(ANNOTATOR_PATTERN, annotator):
            return PlainTextResponse(f"invalid annotator name {annotator!r}", status_code=422)
        labels = store.labels_of(annotator)
        pairs = []
        for pair in store.pairs:
            shown = store.order(annotator, pair.id)
            texts = {1: pair.response_1, 2: pair.response_2}
            pairs.append(
                {
                    "id": pair.id,
                    "turns": pair.prompt,
                    "left": texts[shown[0]],
                    "right": texts[shown[1]],
                    "label": _label_view(labels[pair.id]) if pair.id in labels else None,
                }
            )
        return JSONResponse(
            {"annotator": annotator, "csrf": csrf, "guidelines": guidelines, "pairs": pairs}
        )

    async def post_label(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), csrf.encode()):
            return _refused(403, "missing or wrong CSRF token")
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return _refused(403, "cross-origin post")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _refused(415, "send application/json")
        declared = request.headers.get("content-length")
        if declared is not None and not declared.strip().isdigit():
            return _refused(400, "invalid Content-Length")
        if declared is not None and int(declared) > MAX_BODY_BYTES:
            return _refused(413, f"label too large ({declared} bytes; at most {MAX_BODY_BYTES})")
        body = await _body_at_most(request, MAX_BODY_BYTES)
        if body is None:
            return _refused(413, f"label too large (at most {MAX_BODY_BYTES} bytes)")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            return _refused(400, f"the body is not UTF-8 (byte {error.start})")
        try:
            post = LabelPost.model_validate_json(body)
        except ValidationError as error:
            problems = error.errors(include_url=False, include_input=False)
            if problems and problems[0]["type"] == "json_invalid":
                reason = str(problems[0]["msg"]).removeprefix("Invalid JSON: ")
                return _refused(400, f"the body is not valid JSON: {reason}")
            logger.warning("label refused (422): %s", _printable(_summary(error)))
            # pydantic's own JSON keeps every problem serialisable (inputs, contexts).
            errors = json.loads(error.json(include_url=False))
            return JSONResponse({"error": errors}, status_code=422)
        if post.pair_id not in store.by_id:
            return _refused(404, f"unknown pair id {post.pair_id!r}")
        try:
            label = await run_in_threadpool(store.add, LabelInput(**post.model_dump()))
        except AnnotationError as error:
            return _refused(422, str(error))
        done = len(store.labels_of(post.annotator))
        return JSONResponse(
            {"label": _label_view(label), "completed": done, "total": len(store.pairs)}
        )

    return Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            Route("/api/session", session),
            Route("/api/labels", post_label, methods=["POST"]),
        ],
        middleware=[Middleware(_Guard, token=token, allowed_hosts=hosts, ip_hosts=ip_hosts)],
    )


def _refused(status: int, reason: str) -> Response:
    """A label post refused with ``status``: ``"STATUS: reason"`` as the reply, and one warning
    line for whoever runs the server."""
    logger.warning("label refused (%d): %s", status, _printable(reason))
    return PlainTextResponse(f"{status}: {reason}", status_code=status)


def _printable(text: str, limit: int = 300) -> str:
    """``text`` for a log line: control characters (a newline in a field name sent by a client)
    escaped, and cut at ``limit`` characters."""
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _summary(error: ValidationError) -> str:
    """One line naming each invalid field of a label post and what is wrong with it."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
        for problem in error.errors(include_url=False, include_input=False)
    )


async def _body_at_most(request: Request, limit: int) -> bytes | None:
    """The request's body, or ``None`` as soon as it is longer than ``limit`` bytes (a body sent
    without a ``Content-Length``, chunked, is never read past the limit)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

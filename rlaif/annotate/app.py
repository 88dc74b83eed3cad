"""The annotation web app (Starlette): one page, its two static files and a small JSON API.

Routes:

- ``GET /`` the page; ``GET /static/app.js`` and ``/static/app.css`` its script and style,
  bundled in the package (nothing is fetched from elsewhere: the content security policy allows
  this origin only, and no inline script);
- ``GET /api/session?annotator=NAME`` the pairs, the order each is shown to ``NAME``, their
  labels so far, the guidelines and the CSRF token;
- ``POST /api/labels`` one label (JSON), stored before the reply (:class:`LabelStore`).

Security: with a token, every request (the page and static files included) must carry it, as
``?token=`` (the page then keeps it in an ``HttpOnly`` cookie), the cookie, or
``Authorization: Bearer``; anything else gets 401. Without a token the app answers only requests
whose ``Host`` is a loopback name, and refuses others with 403 (so a DNS-rebinding page cannot
read it). A POST needs JSON, the
session's CSRF token in ``X-RLAIF-CSRF`` and, when the browser sends one, a same-origin
``Origin``. An invalid label gets a 4xx and writes nothing.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
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
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
"""Host names a server without a token answers to."""
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


class _Guard(BaseHTTPMiddleware):
    """Token (or loopback ``Host``) on every request; security headers on every reply."""

    def __init__(self, app: Any, *, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    def _refusal(self, request: Request) -> Response | None:
        """The reply refusing ``request``, or ``None`` when it may pass."""
        if self.token is None:
            host = request.headers.get("host", "").rsplit(":", 1)[0]
            if host in LOOPBACK_HOSTS:
                return None
            return PlainTextResponse(
                "403: without --token this server answers only to 127.0.0.1 or localhost",
                status_code=403,
            )
        offered = [
            request.query_params.get("token", ""),
            request.cookies.get(TOKEN_COOKIE, ""),
            request.headers.get("authorization", "").removeprefix("Bearer "),
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
) -> Starlette:
    """The annotation app over ``store``. ``token`` (when given) is required on every request;
    ``default_annotator`` labels when the page's URL names no ``?annotator=``."""
    csrf = secrets.token_urlsafe(24)
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
            return PlainTextResponse("403: missing or wrong CSRF token", status_code=403)
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return PlainTextResponse("403: cross-origin post", status_code=403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return PlainTextResponse("415: send application/json", status_code=415)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("413: label too large", status_code=413)
        try:
            post = LabelPost.model_validate_json(body)
        except ValidationError as error:
            return JSONResponse({"error": error.errors(include_url=False)}, status_code=422)
        if post.pair_id not in store.by_id:
            return PlainTextResponse(f"404: unknown pair id {post.pair_id!r}", status_code=404)
        try:
            label = await run_in_threadpool(store.add, LabelInput(**post.model_dump()))
        except AnnotationError as error:
            return PlainTextResponse(f"422: {error}", status_code=422)
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
        middleware=[Middleware(_Guard, token=token)],
    )

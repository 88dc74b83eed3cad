"""Run the annotation app with uvicorn, checking the host and token rules first."""

from __future__ import annotations

import ipaddress
import re
import webbrowser
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from rlaif.annotate.guidelines import DEFAULT_GUIDELINES, guidelines_text
from rlaif.annotate.pairs import load_annotation_pairs
from rlaif.annotate.store import AnnotationError, LabelStore
from rlaif.data.human_labels import ANNOTATOR_PATTERN

DEFAULT_HOST = "127.0.0.1"
"""The address the server binds by default: this machine only."""
DEFAULT_PORT = 8765
"""The default port."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (``127.0.0.0/8``, ``::1`` or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def page_url(host: str, port: int, annotator: str | None = None) -> str:
    """The address to open the page at (without the token, which is never printed)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    query = f"?annotator={annotator}" if annotator else ""
    return f"http://{shown}:{port}/{query}"


def serve(
    pairs: str | Path,
    out: str | Path,
    *,
    guidelines: str | Path = DEFAULT_GUIDELINES,
    annotator: str = "annotator",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    seed: int = 0,
    open_browser: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the annotation page for the pairs in ``pairs``, appending labels to ``out``, until
    interrupted. A host other than a loopback address requires ``token``."""
    import uvicorn  # the web server: only `rlaif annotate serve` pays for importing it

    from rlaif.annotate.app import create_app  # starlette, likewise

    if not is_loopback(host) and not token:
        raise AnnotationError(
            f"--host {host} makes the page reachable from other machines: give --token too"
        )
    if not re.fullmatch(ANNOTATOR_PATTERN, annotator):
        raise AnnotationError(
            f"--annotator {annotator!r}: use letters, digits and _ . @ - (at most 64 characters)"
        )
    store = LabelStore(load_annotation_pairs(pairs, seed=seed), out, seed=seed)
    app = create_app(
        store, guidelines=guidelines_text(guidelines), token=token, default_annotator=annotator
    )
    url = page_url(host, port, annotator)
    announce(f"Annotating {len(store.pairs)} pairs from {pairs} into {out}")
    announce(
        f"Open {url}" + (" and add &token=YOUR_TOKEN (the token is not printed)" if token else "")
    )
    announce("Press Ctrl+C to stop; every label is already saved.")
    if open_browser:
        webbrowser.open(url + (f"&token={quote(token)}" if token else ""))
    try:
        # No access log: a URL may carry the token.
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    finally:
        store.close()

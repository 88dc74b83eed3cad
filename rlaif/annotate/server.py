"""Run the annotation app with uvicorn, checking the host and token rules first."""

from __future__ import annotations

import errno
import ipaddress
import logging
import re
import socket
import sys
import webbrowser
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
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


def check_token(token: str | None) -> None:
    """Refuse a token that would not protect anything or could not travel: empty (an unset
    shell variable, ``--token "$UNSET"``), or holding spaces, control or non-ASCII characters
    (it goes in URLs, a cookie and a header)."""
    if token is None:
        return
    if not token.strip():
        raise AnnotationError(
            "--token is empty (an unset variable?): give a real token, or leave --token out "
            "to serve this machine only"
        )
    if not re.fullmatch(r"[!-~]+", token):
        raise AnnotationError(
            "--token: use printable ASCII characters without spaces (it travels in URLs, a "
            "cookie and a header)"
        )


def check_port(port: int) -> None:
    """Refuse a port number no socket can have (0 picks a free port)."""
    if not 0 <= port <= 65535:
        raise AnnotationError(f"--port {port}: must be between 1 and 65535 (0: any free port)")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` and listening, or one line saying why not (port in
    use, no such address, no permission): before anything is announced."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind((address, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise AnnotationError(_bind_failure(host, port, error)) from None
    return sock


def _bind_failure(host: str, port: int, error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return f"--host {host}: no such address ({error.strerror or error})"
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another server?): choose another with "
            "--port, or --port 0 for any free one"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine"
    if error.errno == errno.EACCES:
        return f"cannot listen on port {port}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


def serve(
    pairs: str | Path,
    out: str | Path,
    *,
    guidelines: str | Path = DEFAULT_GUIDELINES,
    annotator: str = "annotator",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    allowed_hosts: Collection[str] = (),
    seed: int = 0,
    open_browser: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the annotation page for the pairs in ``pairs``, appending labels to ``out``, until
    interrupted. A host other than a loopback address requires ``token``; requests must name
    this machine as their ``Host`` (a loopback name, one of ``allowed_hosts``, or an IP address
    when ``host`` is not loopback). Bad options, a port in use and unreadable pairs raise
    :class:`AnnotationError` (or the data error) before anything is announced. Returns after
    Ctrl+C once serving; a :class:`KeyboardInterrupt` during start-up propagates."""
    check_token(token)
    remote = not is_loopback(host)
    if remote and not token:
        raise AnnotationError(
            f"--host {host} makes the page reachable from other machines: give --token too"
        )
    if not re.fullmatch(ANNOTATOR_PATTERN, annotator):
        raise AnnotationError(
            f"--annotator {annotator!r}: use letters, digits and _ . @ - (at most 64 characters)"
        )
    check_port(port)
    import uvicorn  # the web server: only `rlaif annotate serve` pays for importing it

    from rlaif.annotate.app import create_app  # starlette, likewise

    sock = listen(host, port)
    store: LabelStore | None = None
    try:
        store = LabelStore(load_annotation_pairs(pairs, seed=seed), out, seed=seed)
        names = [*allowed_hosts, host] if remote and not _is_address(host) else allowed_hosts
        app = create_app(
            store,
            guidelines=guidelines_text(guidelines),
            token=token,
            default_annotator=annotator,
            allowed_hosts=names,
            ip_hosts=remote,
        )
        url = page_url(host, sock.getsockname()[1], annotator)
        announce(f"Annotating {len(store.pairs)} pairs from {pairs} into {out}")
        announce(
            f"Open {url}"
            + (" and add &token=YOUR_TOKEN (the token is not printed)" if token else "")
        )
        announce("Press Ctrl+C to stop; every label is already saved.")
        if open_browser:
            webbrowser.open(url + (f"&token={quote(token)}" if token else ""))
        # No access log: a URL may carry the token.
        config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        try:
            with _warnings_on_stderr():
                server.run(sockets=[sock])
        except KeyboardInterrupt:
            # uvicorn stops gracefully on Ctrl+C, then raises it again: a normal stop once
            # serving; before that it stays an interruption.
            if not server.started:
                raise
    finally:
        sock.close()
        if store is not None:
            store.close()


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@contextmanager
def _warnings_on_stderr() -> Iterator[None]:
    """While serving, the app's warnings (a refused label) go to stderr, one plain line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger = logging.getLogger("rlaif.annotate")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate

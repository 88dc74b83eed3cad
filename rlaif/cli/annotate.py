"""``rlaif annotate serve``: the pairwise annotation page for human labels on your own pairs."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from rlaif.annotate.guidelines import DEFAULT_GUIDELINES
from rlaif.annotate.server import DEFAULT_HOST, DEFAULT_PORT
from rlaif.annotate.server import serve as serve_page
from rlaif.annotate.store import AnnotationError
from rlaif.cli.common import echo, user_errors

INTERRUPTED_EXIT = 130
"""Exit status of a server interrupted (Ctrl+C) before it was serving: 128 + SIGINT, as shells
report it. A Ctrl+C once it serves is the normal way to stop it: status 0."""
TOKEN_ENV = "RLAIF_ANNOTATE_TOKEN"
"""The environment variable ``--token`` is read from when the option is not given."""

annotate_app = typer.Typer(
    help="Collect human pairwise labels on your own pairs (an annotation page).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``rlaif annotate`` group to ``app``."""
    app.add_typer(annotate_app, name="annotate")


@annotate_app.command("serve")
@user_errors
def serve(
    pairs: Path = typer.Argument(
        ...,
        help="Pairs to label: response_1/response_2 pairs, preference records, candidates "
        "(K >= 2 responses) or HH-RLHF transcripts.",
    ),
    out: Path = typer.Option(..., "--out", help="Labels file (JSONL), appended as labels come."),
    guidelines: str = typer.Option(
        DEFAULT_GUIDELINES,
        "--guidelines",
        help="Markdown/text file, or a constitution (name or YAML) whose principles to show.",
    ),
    annotator: str = typer.Option(
        "annotator", "--annotator", help="Annotator when the URL names none (?annotator=NAME)."
    ),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to bind (others need --token)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="Port to listen on (0: any free port)."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar=TOKEN_ENV,
        help="Required on every request when set (an empty one is refused). Without it, only "
        "this machine can use the page.",
    ),
    allow_host: list[str] = typer.Option(
        [],
        "--allow-host",
        help="A host name requests may be addressed to besides localhost, 127.0.0.1 (and any IP "
        "address with a non-loopback --host), repeatable: e.g. this machine's DNS name.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the pair order and the sides shown."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
) -> None:
    """Serve a page where people label pairs (1-4, arrows, n); labels are appended to --out."""
    if token is None and os.environ.get(TOKEN_ENV) == "":
        # click reads an empty variable as "not given": it is as likely a token that went missing.
        raise AnnotationError(
            f"{TOKEN_ENV} is set but empty: give a real token, or unset it to serve this "
            "machine only"
        )
    try:
        serve_page(
            pairs,
            out,
            guidelines=guidelines,
            annotator=annotator,
            host=host,
            port=port,
            token=token,
            allowed_hosts=allow_host,
            seed=seed,
            open_browser=open_browser,
            announce=echo,
        )
    except KeyboardInterrupt:
        raise typer.Exit(INTERRUPTED_EXIT) from None

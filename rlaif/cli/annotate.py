"""``rlaif annotate serve``: the pairwise annotation page for human labels on your own pairs."""

from __future__ import annotations

from pathlib import Path

import typer

from rlaif.annotate.guidelines import DEFAULT_GUIDELINES
from rlaif.annotate.server import DEFAULT_HOST, DEFAULT_PORT
from rlaif.annotate.server import serve as serve_page
from rlaif.cli.common import echo, user_errors

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
    port: int = typer.Option(DEFAULT_PORT, "--port", help="Port to listen on."),
    token: str | None = typer.Option(
        None, "--token", envvar="RLAIF_ANNOTATE_TOKEN", help="Required on every request when set."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the pair order and the sides shown."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
) -> None:
    """Serve a page where people label pairs (1-4, arrows, n); labels are appended to --out."""
    serve_page(
        pairs,
        out,
        guidelines=guidelines,
        annotator=annotator,
        host=host,
        port=port,
        token=token,
        seed=seed,
        open_browser=open_browser,
        announce=echo,
    )

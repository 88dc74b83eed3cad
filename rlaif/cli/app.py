"""The ``rlaif`` command: a Typer app whose commands are thin calls into the Python API."""

from __future__ import annotations

import typer

from rlaif import __version__
from rlaif.cli import (
    annotate,
    constitution,
    datagen,
    evaluate,
    export,
    models,
    pipeline,
    principles,
    training,
)
from rlaif.cli.common import state

app = typer.Typer(
    name="rlaif",
    help="Reinforcement learning from AI feedback: principles, AI judges, preference data, "
    "TRL training and judge-human agreement.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(principles.app, name="principles")
app.add_typer(constitution.app, name="constitution")
# Each module below adds its own commands and groups to the app (one module per layer).
for _module in (models, datagen, training, evaluate, pipeline, export, annotate):
    _module.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rlaif {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for user errors."),
) -> None:
    state.debug = debug


def main() -> None:
    """Console-script entry point."""
    app()

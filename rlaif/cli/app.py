"""The ``rlaif`` command: a Typer app whose commands are thin calls into the Python API."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

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


class OneLineErrors(TyperGroup):
    """The root group: a command-line parse error (bad value, unknown option, missing option)
    is one line on stderr, ``error: ... (see: rlaif CMD --help)``, with exit status 2, instead
    of click's usage box. Help, ``--version`` and the commands' own exits are unchanged."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the CLI; see the class docstring for how parse errors are shown."""
        standalone = kwargs.pop("standalone_mode", True)
        quiet = {**kwargs, "standalone_mode": False}
        if not standalone:
            return super().main(*args, **quiet)
        try:
            result = super().main(*args, **quiet)
        except typer.TyperException as error:  # click's exceptions, as Typer vendors them
            if type(error).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as before
                return super().main(*args, **{**kwargs, "standalone_mode": True})
            message = " ".join(str(getattr(error, "format_message", error.__str__)()).split())
            context = getattr(error, "ctx", None)
            hint = f" (see: {context.command_path} --help)" if context is not None else ""
            typer.echo(f"error: {message}{hint}", err=True)
            sys.exit(int(getattr(error, "exit_code", 2)))
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
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

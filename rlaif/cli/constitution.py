"""``rlaif constitution``: list, show, validate and render constitutions."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from rlaif.cli.common import console, echo, err_console, user_errors, warn
from rlaif.constitution import (
    Constitution,
    ConstitutionError,
    TemplateVariableError,
    UnselectedPrincipleWarning,
    library,
    load_constitution,
)
from rlaif.constitution.demo import (
    DEMO_CRITIQUE,
    DEMO_OTHER_RESPONSE,
    DEMO_PROMPT,
    DEMO_RESPONSE,
)
from rlaif.constitution.schema import STAGES
from rlaif.constitution.validation import constitution_files
from rlaif.errors import RlaifError
from rlaif.judge.framing import comparison_messages, score_messages

app = typer.Typer(help="List, show, validate and render constitutions.", no_args_is_help=True)


def _load(name: str | Path) -> Constitution:
    """Load a constitution and print its warnings as ``warning: FILE:LINE:COLUMN: ...`` lines
    (not Python's warning format)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnselectedPrincipleWarning)
        constitution = load_constitution(name)
    for warning in constitution.warnings:
        warn(str(warning))
    return constitution


def _is_builtin(shown: str) -> bool:
    """Whether a template shown as ``shown`` (relative to the working directory, else to the
    library, as :func:`~rlaif.constitution.library.display_path` writes it) is a built-in one."""
    for base in (Path.cwd(), library.library_root()):
        candidate = (base / shown).resolve()
        if candidate.is_file():
            return candidate.is_relative_to(library.constitutions_dir().resolve())
    return False


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip()


@app.command("list")
@user_errors
def list_constitutions() -> None:
    """List the built-in constitutions."""

    # Names and headers whole; the description (its first sentence) wraps.
    table = Table()
    table.add_column("name", no_wrap=True, overflow="fold")
    for header in ("version", "principles", "rounds", "per pair"):
        table.add_column(header, no_wrap=True)
    table.add_column("description", overflow="fold")
    for name in library.builtin_constitution_files():
        c = load_constitution(name)
        table.add_row(
            c.name,
            Text(c.version),
            str(len(c.resolved_principles)),
            str(c.rounds),
            str(c.sampling.per_example),
            Text(_first_sentence(c.description)),
        )
    console.print(table)


@app.command("show")
@user_errors
def show(name: str = typer.Argument(..., help="Built-in name or path to a YAML file.")) -> None:
    """Show a constitution: settings, principles, templates and their variables."""

    c = _load(name)
    echo(f"name: {c.name} (version {c.version}, hash {c.content_hash()})")
    echo(f"source: {c.source_path}")
    echo(f"description: {c.description}")
    echo(f"stages: {', '.join(c.stages)}; rounds: {c.rounds}")
    pool = (
        "general principles plus those that fit the prompt's category"
        if c.sampling.strategy == "matched"
        else "every principle for every prompt"
    )
    echo(
        f"sampling: {c.sampling.per_example} principle(s) per pair, seed {c.sampling.seed}, "
        f"{'weighted' if c.sampling.weighted else 'equal chances'}, "
        f"{c.sampling.strategy} ({pool})"
    )
    echo(f"system prompt: {c.system_prompt or '-'}")
    echo(f"principles ({len(c.resolved_principles)}):")
    for p in c.resolved_principles:
        fits = "general" if p.is_general else "for " + ", ".join(p.categories)
        echo(f"  - {p.id} (weight {p.weight:g}, {fits}): {p.title}")
    echo("templates:")
    for stage in STAGES:
        source = c.template_name(stage)
        if source is None:
            echo(f"  {stage}: - (none: the pointwise judge is unavailable)")
            continue
        if _is_builtin(source):
            source += " (built-in)"
        variables = ", ".join(c.documented_variables(stage))
        shots = len(c.few_shot.for_stage(stage))
        echo(f"  {stage}: {source} [{shots} few-shot] vars: {variables}")


@app.command("validate")
@user_errors
def validate(
    names: list[str] = typer.Argument(
        None,
        help="Built-in names, files, or folders (each constitution in them); default: every "
        "built-in.",
    ),
) -> None:
    """Load constitutions and report every error (exit 1 if there is any).

    Warnings (a principle of your own file that no selector keeps) are printed and do not fail.
    """

    targets: list[str | Path] = []
    for entry in names or library.builtin_constitution_files():
        if not Path(entry).is_dir():
            targets.append(entry)
            continue
        found = constitution_files(Path(entry))
        if not found:
            raise RlaifError(
                f"{entry}: no constitution (a *.yaml file with a name:) in this folder"
            )
        targets.extend(found)
    failures = 0
    for name in targets:
        try:
            c = _load(name)
        except ConstitutionError as error:
            failures += len(error.issues)
            for issue in error.issues:
                err_console.print(str(issue), markup=False, soft_wrap=True)
            continue
        console.print(
            f"ok: {c.name} ({len(c.resolved_principles)} principles, hash {c.content_hash()})",
            markup=False,
        )
    if failures:
        raise typer.Exit(1)


@app.command("render")
@user_errors
def render(
    name: str = typer.Argument(..., help="Built-in name or path to a YAML file."),
    stage: str = typer.Option("compare", "--stage", help=f"One of: {', '.join(STAGES)}."),
    principle: str | None = typer.Option(None, "--principle", help="Principle id to use."),
    seed: int = typer.Option(0, "--seed", help="Seed for sampling the principle."),
) -> None:
    """Print the exact messages the critic or judge reads for a built-in example."""

    if stage not in STAGES:
        raise TemplateVariableError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    c = _load(name)
    chosen = (
        c.principle(principle)
        if principle
        else c.sample(1, random.Random(seed), stage=stage, prompt=DEMO_PROMPT)[0]
    )
    if stage in ("critique", "revision"):
        variables: dict[str, object] = {
            "prompt": DEMO_PROMPT,
            "principle": chosen,
            "response": DEMO_RESPONSE,
            "critique": DEMO_CRITIQUE,
        }
        variables = {k: v for k, v in variables.items() if k in c.documented_variables(stage)}
        messages = c.messages(stage, **variables)
    elif stage == "score":
        if c.templates.score is None:
            raise TemplateVariableError(f"constitution {c.name!r} has no 'score' template")
        messages = score_messages(
            c, DEMO_PROMPT, DEMO_RESPONSE, chosen, prefill=c.judge.score_prefill
        )
    else:
        # What a judge that can continue an assistant turn reads (cot answers from scratch).
        prefill = c.judge.prefill if stage == "compare" else None
        messages = comparison_messages(
            c,
            stage,
            DEMO_PROMPT,
            DEMO_RESPONSE,
            DEMO_OTHER_RESPONSE,
            chosen,
            seed=seed,
            prefill=prefill,
        )
    echo(f"# constitution {c.name}, stage {stage}, principle {chosen.id}")
    for message in messages:
        echo(f"--- {message['role']} ---")
        echo(message["content"])

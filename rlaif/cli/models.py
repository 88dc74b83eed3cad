"""``rlaif models list|prepare|ask`` and ``rlaif cache info|clear``."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from rlaif.cli.common import console, echo, err_console, user_errors
from rlaif.config import parse_key_values
from rlaif.errors import ConfigError
from rlaif.models import GenerateConfig, get_model, print_usage_summary
from rlaif.models.cache import default_cache_path, open_cache
from rlaif.models.local import (
    CATALOG,
    is_prepared,
    offline_parts,
    prepare,
    prepare_gguf_file,
)

models_app = typer.Typer(
    help="The embedded model catalog, model preparation and one-off prompts.",
    no_args_is_help=True,
)
cache_app = typer.Typer(help="The response cache (never pay twice).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(models_app, name="models")
    app.add_typer(cache_app, name="cache")


@models_app.command("list")
@user_errors
def list_models(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the embedded models: role, whether their wheels are installed, whether prepared."""

    rows: list[dict[str, Any]] = [
        {
            "name": f"hf/{entry.name}",
            "role": entry.role,
            "installed": offline_parts(entry) is not None,
            "prepared": is_prepared(entry),
            "hub_id": entry.hub_id,
            "folder": str(entry.folder),
            "install": entry.install,
        }
        for entry in CATALOG.values()
    ]
    if as_json:
        echo(json.dumps(rows, indent=2))
        return
    table = Table()
    table.add_column("name", no_wrap=True)
    table.add_column("installed", no_wrap=True)
    table.add_column("prepared", no_wrap=True)
    table.add_column("role / online source", overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            "yes" if row["installed"] else "no",
            "yes" if row["prepared"] else "no",
            f"{row['role']}\nonline: {row['hub_id']}",
        )
    console.print(table)


@models_app.command("prepare")
@user_errors
def prepare_model(
    name: str = typer.Argument(
        ..., help="Catalog name (smollm2-135m-instruct, hf/qwen2.5-coder-1.5b-instruct) or a .gguf"
    ),
) -> None:
    """Verify, assemble and convert an embedded model (or a GGUF file) into safetensors once."""

    bare = name.removeprefix("hf/")
    step = lambda line: err_console.print(f"[rlaif] {line}", markup=False)  # noqa: E731
    if bare in CATALOG:
        folder = prepare(CATALOG[bare], progress=step)
    elif bare.lower().endswith(".gguf"):
        from pathlib import Path

        path = Path(bare).expanduser()
        if not path.is_file():
            raise ConfigError(f"GGUF file not found: {path}")
        folder, _ = prepare_gguf_file(path, progress=step)
    else:
        known = ", ".join(CATALOG)
        raise ConfigError(f"unknown embedded model {name!r}; known: {known}, or a .gguf path")
    echo(str(folder))


@models_app.command("ask")
@user_errors
def ask(
    model: str = typer.Argument(..., help="provider/model, e.g. hf/smollm2-135m-instruct"),
    prompt: str = typer.Argument(..., help="The user turn."),
    system: str | None = typer.Option(None, "--system", help="A system prompt."),
    max_tokens: int = typer.Option(256, "--max-tokens", min=1, help="Most new tokens."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, max=2.0),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible server."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the response cache."),
    option: list[str] = typer.Option(
        [], "--option", "-o", help="Backend option key=value (e.g. dtype=float32); repeatable."
    ),
) -> None:
    """Send one prompt to a model and print its answer (usage summary on stderr)."""

    settings = parse_key_values(
        option, name="--option", malformed="{name} wants key=value, got {pair!r}"
    )
    if base_url:
        settings["base_url"] = base_url
    if no_cache:
        settings["cache"] = False
    llm = get_model(model, **settings)
    conversation = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    config = GenerateConfig(max_tokens=max_tokens, temperature=temperature, seed=seed)
    completion = llm.generate_sync(conversation, config)
    echo(completion.text)
    print_usage_summary([llm])


@cache_app.command("info")
@user_errors
def cache_info(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Where the response cache is, how big, and how many responses per model."""

    path = default_cache_path()
    info: dict[str, Any]
    if not path.exists():
        info = {"path": str(path), "entries": 0, "size_bytes": 0, "by_model": {}}
    else:
        found = open_cache(path).info()
        info = {
            "path": str(found.path),
            "entries": found.entries,
            "size_bytes": found.size_bytes,
            "by_model": found.by_model,
        }
    if as_json:
        echo(json.dumps(info, indent=2))
        return
    echo(f"cache: {info['path']}")
    echo(f"entries: {info['entries']:,} ({info['size_bytes'] / 1e6:.1f} MB)")
    for name, count in info["by_model"].items():
        echo(f"  {name}: {count:,}")


@cache_app.command("clear")
@user_errors
def cache_clear(
    model: str | None = typer.Option(None, "--model", help="Only this provider/model's entries."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete cached responses (all, or one model's)."""

    path = default_cache_path()
    if not path.exists():
        echo(f"nothing to clear: {path} does not exist")
        return
    what = f"the cached responses of {model}" if model else "every cached response"
    if not yes and not typer.confirm(f"Delete {what} in {path}?"):
        raise typer.Exit(1)
    removed = open_cache(path).clear(model)
    echo(f"removed {removed:,} entries from {path}")

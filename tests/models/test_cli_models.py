"""``rlaif models`` and ``rlaif cache`` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.config import parse_key_values

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_models_list_names_the_catalog() -> None:
    result = run("models", "list", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"hf/smollm2-135m-instruct", "hf/qwen2.5-coder-1.5b-instruct"}
    assert rows["hf/qwen2.5-coder-1.5b-instruct"]["hub_id"] == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    assert run("models", "list").exit_code == 0


def test_models_prepare_unknown_name_is_a_user_error() -> None:
    result = run("models", "prepare", "no-such-model")
    assert result.exit_code == 2 and "unknown embedded model" in result.output
    missing = run("models", "prepare", "/nowhere/model.gguf")
    assert missing.exit_code == 2 and "GGUF file not found" in missing.output


def test_ask_prints_the_answer_and_fills_the_cache(private_cache: Path) -> None:
    first = run("models", "ask", "fake/echo", "Is this cached?", "-o", "cache=true")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "Is this cached?"
    info = json.loads(run("cache", "info", "--json").stdout)
    assert info["entries"] == 1 and info["by_model"] == {"fake/echo": 1}
    cleared = run("cache", "clear", "--model", "fake/echo", "--yes")
    assert cleared.exit_code == 0 and "removed 1" in cleared.stdout
    assert json.loads(run("cache", "info", "--json").stdout)["entries"] == 0


def test_ask_reports_backend_errors_as_user_errors() -> None:
    result = run("models", "ask", "nope/model", "hi")
    assert result.exit_code == 2 and "unknown model provider" in result.output
    bad = run("models", "ask", "fake/echo", "hi", "-o", "novalue")
    assert bad.exit_code == 2 and "key=value" in bad.output


def test_option_values_are_typed() -> None:
    assert parse_key_values(["dtype=float32", "max_batch_size=4", "cache=false"]) == {
        "dtype": "float32",
        "max_batch_size": 4,
        "cache": False,
    }
